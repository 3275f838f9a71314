//! Running a server inside a lab namespace: one thread per server, moved into the namespace
//! with `setns(2)`, running a current-thread tokio runtime until the lab stops it.
//!
//! Every server kind (dns now; whois, rdap, tls later) is a module that hands [`spawn`] a
//! `bind` step and gets back a [`ServerHandle`]; the lab keeps the handles and drops them on
//! teardown.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio_util::sync::CancellationToken;

use crate::{netns, LabError};

/// The serving loop a server's bind step returns; it runs until the lab stops it.
pub(crate) type Serve = Pin<Box<dyn Future<Output = ()>>>;

/// A running server. Dropping it stops the server and waits for its thread.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    cancel: CancellationToken,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// Stops the server and waits for its thread to end.
    pub(crate) fn stop(&mut self) {
        self.cancel.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a server in namespace `ns`.
///
/// `bind` runs inside the namespace and the runtime: it binds the server's sockets and returns
/// its serving loop. `spawn` returns once `bind` has finished, so the server is reachable when
/// it returns; a bind error is returned here.
pub(crate) fn spawn<B, F>(ns: &str, server: &'static str, bind: B) -> Result<ServerHandle, LabError>
where
    B: FnOnce() -> F + Send + 'static,
    F: Future<Output = io::Result<Serve>>,
{
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), LabError>>();
    let namespace = ns.to_owned();
    let thread = std::thread::Builder::new()
        .name(format!("lab-{server}-{ns}"))
        .spawn(move || {
            if let Err(e) = netns::enter(&namespace) {
                let _ = ready_tx.send(Err(e));
                return;
            }
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(server_error(server, &namespace, e)));
                    return;
                }
            };
            runtime.block_on(async move {
                let serve = match bind().await {
                    Ok(serve) => serve,
                    Err(e) => {
                        let _ = ready_tx.send(Err(server_error(server, &namespace, e)));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    () = serve => {}
                    () = stop.cancelled() => {}
                }
            });
            // Dropping the runtime here drops every task the server spawned, closing its
            // sockets before the lab deletes the namespace.
        })
        .map_err(|e| LabError::io("cannot spawn a server thread", e))?;
    let mut handle = ServerHandle {
        cancel,
        thread: Some(thread),
    };
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            handle.stop();
            Err(e)
        }
        Err(_) => {
            handle.stop();
            Err(server_error(
                server,
                ns,
                io::Error::other("the server thread ended before binding"),
            ))
        }
    }
}

fn server_error(server: &'static str, namespace: &str, source: io::Error) -> LabError {
    LabError::Server {
        server,
        namespace: namespace.to_owned(),
        source,
    }
}
