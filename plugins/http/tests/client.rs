//! The client against small HTTP servers on 127.0.0.1: statuses, bounds, time limits,
//! headers and name resolution through the run's servers. No other address is contacted.

use std::net::SocketAddr;
use std::time::Duration;

use sonde_dns::Resolver;
use sonde_http::{Answer, Client, ClientOptions, Get, HttpError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A server that answers every connection with `reply` (raw bytes, written as they are, or
/// nothing at all when `None`) and passes on each request head it read.
async fn serve(reply: Option<&'static str>) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (heads, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let heads = heads.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let _ = heads.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                match reply {
                    Some(reply) => {
                        let _ = stream.write_all(reply.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (addr, rx)
}

/// A resolver whose server does not exist (nothing listens on port 1 of 127.0.0.1).
fn nowhere() -> Resolver {
    Resolver::new(vec!["127.0.0.1:1".parse().expect("addr")])
        .with_query_timeout(Duration::from_millis(200))
}

fn client(https_only: bool) -> Client {
    Client::new(ClientOptions {
        ca_file: None,
        resolver: nowhere(),
        deadline: Instant::now() + Duration::from_secs(5),
        https_only,
        max_redirects: 2,
    })
    .expect("client")
}

fn get(url: &str) -> Get<'_> {
    Get {
        url,
        accept: "application/json",
        bearer: None,
        max_bytes: 64,
        timeout: Duration::from_secs(2),
        deadline: Instant::now() + Duration::from_secs(5),
    }
}

#[tokio::test]
async fn a_body_comes_back_with_its_status_and_the_headers_go_out() {
    let (addr, mut heads) = serve(Some(
        "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
    ))
    .await;
    let url = format!("http://{addr}/x");
    let answer = client(false)
        .get(&Get {
            bearer: Some("t0ken"),
            ..get(&url)
        })
        .await
        .expect("answer");
    assert_eq!(
        answer,
        Answer {
            status: 200,
            body: b"{\"a\":1}".to_vec()
        }
    );
    let head = heads.recv().await.expect("head").to_ascii_lowercase();
    assert!(head.starts_with("get /x http/1.1\r\n"), "{head}");
    assert!(head.contains("\r\naccept: application/json\r\n"), "{head}");
    assert!(
        head.contains("\r\nauthorization: bearer t0ken\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nuser-agent: sonde/"), "{head}");
}

#[tokio::test]
async fn error_statuses_are_errors_for_get_and_answers_for_fetch() {
    let (addr, _heads) = serve(Some(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Length: 9\r\n\r\nslow down",
    ))
    .await;
    let url = format!("http://{addr}/");
    let err = client(false).get(&get(&url)).await.expect_err("429");
    assert_eq!(
        err,
        HttpError::Status {
            url: url.clone(),
            status: 429,
            retry_after: Some("30".into())
        }
    );
    assert_eq!(
        err.to_string(),
        format!("{url} answered HTTP 429 (rate limited; retry after 30 s)")
    );
    let answer = client(false).fetch(&get(&url)).await.expect("answer");
    assert_eq!(
        (answer.status, answer.body.as_slice()),
        (429, &b"slow down"[..])
    );
}

#[tokio::test]
async fn bodies_past_the_bound_are_refused() {
    let (announced, _h1) = serve(Some("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")).await;
    let url = format!("http://{announced}/");
    let err = client(false).get(&get(&url)).await.expect_err("too big");
    assert_eq!(
        err.to_string(),
        format!("{url}: announces a body larger than 64 bytes")
    );
    const LONG: &str = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n\
        0123456789012345678901234567890123456789012345678901234567890123456789";
    let (streamed, _h2) = serve(Some(LONG)).await;
    let url = format!("http://{streamed}/");
    let err = client(false).get(&get(&url)).await.expect_err("too big");
    assert_eq!(
        err.to_string(),
        format!("{url}: body larger than 64 bytes; stopped reading")
    );
}

#[tokio::test]
async fn a_silent_server_costs_the_request_timeout_or_the_deadline() {
    let (addr, _heads) = serve(None).await;
    let url = format!("http://{addr}/");
    let started = Instant::now();
    let err = client(false)
        .get(&Get {
            timeout: Duration::from_millis(200),
            ..get(&url)
        })
        .await
        .expect_err("silent");
    assert_eq!(
        err.to_string(),
        format!("{url}: no complete answer within 200ms")
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let err = client(false)
        .get(&Get {
            deadline: Instant::now() + Duration::from_millis(200),
            ..get(&url)
        })
        .await
        .expect_err("silent");
    assert_eq!(
        err.to_string(),
        format!("{url}: no complete answer before the collector's deadline")
    );
}

#[tokio::test]
async fn names_go_to_the_run_s_servers_and_plain_http_can_be_refused() {
    let err = client(false)
        .get(&get("http://rdap.sonde.test/"))
        .await
        .expect_err("no server");
    let text = err.to_string();
    assert!(
        text.starts_with("http://rdap.sonde.test/: cannot connect: cannot resolve rdap.sonde.test"),
        "{text}"
    );
    let (addr, _heads) = serve(Some("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).await;
    let url = format!("http://{addr}/");
    let err = client(true).get(&get(&url)).await.expect_err("https only");
    assert!(
        matches!(&err, HttpError::Transport { url: u, .. } if *u == url),
        "{err}"
    );
}
