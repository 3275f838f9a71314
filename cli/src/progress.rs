//! A live one-line progress display on stderr, only when it is a terminal.

use std::collections::BTreeSet;
use std::io::Write;

use sonde_core::Event;
use tokio::sync::mpsc::UnboundedReceiver;

/// Shows which collectors run and how many are done, until the channel
/// closes; then clears the line.
pub async fn show(mut events: UnboundedReceiver<Event>, total: usize) {
    let mut running: BTreeSet<String> = BTreeSet::new();
    let mut done = 0usize;
    let mut stderr = std::io::stderr();
    while let Some(event) = events.recv().await {
        match event {
            Event::Started { name, .. } => {
                running.insert(name);
            }
            Event::Finished { name, .. } => {
                running.remove(&name);
                done += 1;
            }
        }
        let list: Vec<&str> = running.iter().map(String::as_str).collect();
        let _ = write!(
            stderr,
            "\r\x1b[2K[{done}/{total}] {}",
            if list.is_empty() {
                "…".to_string()
            } else {
                list.join(", ")
            }
        );
        let _ = stderr.flush();
    }
    let _ = write!(stderr, "\r\x1b[2K");
    let _ = stderr.flush();
}
