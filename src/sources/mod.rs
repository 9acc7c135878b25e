//! What to scan: the paths and files of the host, walked safely.

pub mod walk;
