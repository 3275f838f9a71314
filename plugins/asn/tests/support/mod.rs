//! A DNS server on 127.0.0.1 (UDP) answering TXT questions from the lab's
//! zone, i.e. the lab's Cymru records, for the tests and the benchmark.

// Shared by tests and the benchmark, which each use part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record};
use sonde_lab::zone::{RecordData, ZoneOptions};
use sonde_lab::Zone;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

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

/// An HTTP/1.1 server on 127.0.0.1 answering fixed paths (404 otherwise);
/// stops when dropped.
pub struct HttpServer {
    /// `http://127.0.0.1:port`.
    pub base: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// The paths asked so far.
    pub fn paths(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `(path, status, body)` answers.
pub async fn serve_http(answers: Vec<(String, u16, String)>) -> HttpServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head).to_string();
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            if let Ok(mut log) = log.lock() {
                log.push(path.clone());
            }
            let (status, body) = answers
                .iter()
                .find(|(p, _, _)| *p == path)
                .map(|(_, s, b)| (*s, b.clone()))
                .unwrap_or((404, "{}".to_string()));
            let reason = if status == 200 { "OK" } else { "Not Found" };
            let reply = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/rdap+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    HttpServer { base, seen, task }
}
