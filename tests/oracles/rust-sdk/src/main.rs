//! Prints, as one JSON line, what the AWS SDK for Rust's default credential
//! chain resolves in this process's environment: the provider that answered
//! and the access key ID, or the error. A test oracle for rolecall's chain
//! model (tests/cli/chain_oracle.rs); the secret is never printed.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_credential_types::provider::ProvideCredentials;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let chain = DefaultCredentialsChain::builder().build().await;
    let line = match chain.provide_credentials().await {
        // `Credentials` has no accessor for its provider's name; its Debug
        // output (which redacts the secret) carries it.
        Ok(creds) => {
            let debug = format!("{creds:?}");
            let provider =
                debug.split("provider_name: \"").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("unknown");
            serde_json::json!({ "provider": provider, "key": creds.access_key_id(), "error": null })
        }
        Err(e) => serde_json::json!({ "provider": null, "key": null, "error": format!("{e:?}") }),
    };
    println!("{line}");
}
