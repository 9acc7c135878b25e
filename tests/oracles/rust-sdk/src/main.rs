//! Prints, as one JSON line, what the AWS SDK for Rust's default credential
//! chain resolves in this process's environment: the provider that answered
//! and the access key ID, or the error. A test oracle for rolecall's chain
//! model (tests/cli/chain_oracle.rs); the secret is never printed.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The client the SDK's default would be, on ring instead of aws-lc.
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let chain = DefaultCredentialsChain::builder().configure(ProviderConfig::default().with_http_client(http)).build().await;
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
