//! The test lab (being written).
