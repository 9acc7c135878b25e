//! Integration tests: each builds a tree, runs the binary, and checks what
//! it printed, as a user would.

mod aws_test_data;
mod chain_oracle;
mod compliance;
mod core;
mod faults;
mod host;
mod hostile;
mod imds;
mod imds_server;
mod leaks;
mod network;
mod operator;
mod packaging;
mod peer_cases;
mod reports;
mod sdk_models;
mod soundness;
mod sts_stub;
mod util;
mod vendor;
