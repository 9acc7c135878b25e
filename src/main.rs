use std::io::IsTerminal;

use tracing_subscriber::Layer;

use clap::Parser;
use rolecall::cli::Cli;
use rolecall::exit::Outcome;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match rolecall::run(cli) {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            let broken_pipe = err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return Outcome::Clean.into();
            }
            eprintln!("rolecall: {err:#}");
            Outcome::Error.into()
        }
    }
}

/// Logs go to stderr: warnings by default, more with -v, RUST_LOG overrides.
/// Only rolecall's own events are ever written: other crates' (HTTP and TLS
/// internals) could print request headers, and with them credentials.
fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("rolecall={level}")));
    let ours_only = tracing_subscriber::filter::filter_fn(|meta| meta.target().starts_with("rolecall"));
    // The level filter is global, so that a disabled event is skipped at its
    // call site (its fields never formatted: some walk every file).
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false)
                .with_filter(ours_only),
        )
        .init();
}
