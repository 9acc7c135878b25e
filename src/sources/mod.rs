//! What to scan: the host's files (walked safely), its users, its running
//! processes' environments, and what the SSM agent and people's sign-ins
//! leave on it.

pub mod host;
pub mod images;
pub mod packages;
pub mod procenv;
pub mod sessions;
pub mod ssm_agent;
pub mod users;
pub mod walk;
