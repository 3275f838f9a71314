//! A DNS server on 127.0.0.1 (UDP) answering TXT questions from the lab's
//! zone, i.e. the lab's Cymru records, for the tests and the benchmark.

// Shared by tests and the benchmark, which each use part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record};
use sonde_lab::zone::{RecordData, ZoneOptions};
use sonde_lab::Zone;
use tokio::net::UdpSocket;

/// What the server does with every query.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers from the lab's zone.
    Zone,
    /// Answers SERVFAIL to everything.
    ServFail,
}

/// A running server; stops when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// How many queries it received.
    pub queries: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a server on a random loopback port.
pub async fn serve(mode: Mode) -> Server {
    let zone = Zone::standard(ZoneOptions::default());
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = socket.local_addr().expect("address");
    let queries = Arc::new(AtomicUsize::new(0));
    let counter = queries.clone();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            if let Some(reply) = respond(&zone, &buf[..len], mode) {
                let _ = socket.send_to(&reply, peer).await;
            }
        }
    });
    Server {
        addr,
        queries,
        task,
    }
}

fn respond(zone: &Zone, packet: &[u8], mode: Mode) -> Option<Vec<u8>> {
    let request = Message::from_vec(packet).ok()?;
    let query = request.queries.first()?.clone();
    let qname = query.name().to_ascii();
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.add_query(query.clone());
    if mode == Mode::ServFail {
        reply.metadata.response_code = ResponseCode::ServFail;
        return reply.to_vec().ok();
    }
    reply.metadata.authoritative = true;
    let records = zone.records(&qname, query.query_type());
    for r in &records {
        let RecordData::Txt(strings) = &r.data else {
            continue;
        };
        let name = Name::from_ascii(&r.name).ok()?;
        reply.add_answer(Record::from_rdata(
            name,
            r.ttl,
            RData::TXT(TXT::new(strings.clone())),
        ));
    }
    if records.is_empty() && !zone.name_exists(&qname) {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.to_vec().ok()
}
