//! What to scan: the host's files (walked safely), its users, and its
//! running processes' environments.

pub mod host;
pub mod images;
pub mod packages;
pub mod procenv;
pub mod ssm_agent;
pub mod users;
pub mod walk;
