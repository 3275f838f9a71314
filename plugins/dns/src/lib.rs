//! The dns collector (being written).
