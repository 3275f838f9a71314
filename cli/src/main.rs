//! The sonde command (being written).
fn main() {}
