//! rolecall answers, with evidence, one question about an EC2 host: does it
//! rely on static AWS credentials despite having an IAM role?
//!
//! Data flows one way: `settings` → `sources` (what to read) → `scan` and
//! `matcher` (bytes to matches) → `finding` → `report`, with `coverage`
//! recording what could not be read. `main.rs` only parses and calls [`run`].

pub mod awsconfig;
pub mod baseline;
pub mod chain;
pub mod cli;
pub mod coverage;
pub mod environ;
pub mod escape;
pub mod exit;
pub mod finding;
pub mod fleet;
pub mod gentle;
pub mod imds;
pub mod matcher;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod rulecheck;
pub mod rules;
pub mod scan;
pub mod settings;
pub mod sources;
pub mod sts;
pub mod verdict;

use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::cli::{BaselineArgs, Cli, Command, FleetAction, FleetFormat, RulesAction, ScanArgs};
use crate::exit::Outcome;
use crate::matcher::Matcher;
use crate::report::Style;
use crate::settings::Settings;

/// Runs one command line to its outcome.
pub fn run(cli: Cli) -> Result<Outcome> {
    // reqwest builds a TLS configuration for every client, even IMDS's
    // plain-HTTP one: give rustls its crypto provider (ring) once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Scan(args) => scan(&args),
        Command::Baseline(args) => baseline(&args),
        Command::Fleet(args) => match args.action {
            FleetAction::Summarize { paths, format } => {
                let summary = fleet::summarize(&paths);
                let mut out = io::stdout().lock();
                match format {
                    FleetFormat::Text => fleet::write_text(&summary, &mut out)?,
                    FleetFormat::Json => {
                        serde_json::to_writer_pretty(&mut out, &summary)?;
                        writeln!(out)?;
                    }
                }
                Ok(if summary.reports_read == 0 { Outcome::Error } else { Outcome::Clean })
            }
        },
        Command::Schema => {
            let mut out = io::stdout().lock();
            serde_json::to_writer_pretty(&mut out, &report::json::schema())?;
            writeln!(out)?;
            Ok(Outcome::Clean)
        }
        Command::Rules(args) => {
            let rules = settings::load_rules(args.rules.as_deref())?;
            match args.action {
                RulesAction::List => list_rules(&rules),
                RulesAction::Check => check_rules(&rules),
            }
        }
    }
}

fn scan(args: &ScanArgs) -> Result<Outcome> {
    let settings = Settings::from_args(args)?;
    let report = run_scan(&settings)?;
    // Every destination first, stdout last: a format that cannot be
    // written (ASFF without an instance identity) fails before anything is printed.
    let mut rendered: Vec<(report::Format, Vec<u8>)> = Vec::new();
    for format in std::iter::once(settings.format).chain(settings.outputs.iter().map(|(f, _)| *f)) {
        if rendered.iter().all(|(f, _)| *f != format) {
            let mut buf = Vec::new();
            let color = settings.color && format == settings.format;
            report::write(&report, format, &Style { color }, &mut buf)?;
            rendered.push((format, buf));
        }
    }
    let bytes_of = |format| &rendered.iter().find(|(f, _)| *f == format).expect("rendered above").1;
    for (format, path) in &settings.outputs {
        report::write_atomically(path, bytes_of(*format))?;
    }
    if let Some(dir) = &settings.ssm_inventory {
        let path = report::inventory::write(&report, dir)?;
        tracing::info!(path = %path.display(), "SSM custom inventory written");
    }
    let mut out = io::stdout().lock();
    out.write_all(bytes_of(settings.format)).context("writing the report")?;
    out.flush().context("writing the report")?;
    Ok(outcome(&report))
}

fn run_scan(settings: &Settings) -> Result<report::Report> {
    let matcher = Matcher::new(&settings.rules)?;
    if !settings.fast {
        let set = gentle::lower_priority();
        tracing::info!(priority = %set.join(", "), "running gently (--fast to use every core at normal priority)");
    }
    tracing::info!(rules = settings.rules.rules.len(), threads = settings.walk.threads, "scan starting");
    Ok(pipeline::run(settings, &matcher))
}

/// A path the user named could not be scanned: a gate must not pass on it.
fn outcome(report: &report::Report) -> Outcome {
    let not_found = report.coverage.gap_counts.contains_key(&coverage::GapReason::NotFound);
    if not_found { Outcome::Error } else { report.verdict.outcome() }
}

fn baseline(args: &BaselineArgs) -> Result<Outcome> {
    if let Some(d) = args.expires.as_deref().filter(|d| !baseline::is_date(d)) {
        anyhow::bail!("--expires {d:?}: use a YYYY-MM-DD date");
    }
    let settings = Settings::from_args(&args.scan)?;
    let report = run_scan(&settings)?;
    let mut b = match &args.write {
        Some(p) if p.exists() => baseline::Baseline::load(p)?,
        _ => baseline::Baseline::default(),
    };
    let added = b.acknowledge(&report.findings, &args.reason, args.expires.as_deref());
    let text = b.to_toml()?;
    match &args.write {
        Some(p) => {
            report::write_atomically(p, text.as_bytes())?;
            eprintln!("rolecall: {added} findings acknowledged in {} ({} in all)", p.display(), b.acknowledged.len());
        }
        None => io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(Outcome::Clean)
}

fn list_rules(rules: &rules::RuleSet) -> Result<Outcome> {
    let mut out = io::stdout().lock();
    for r in &rules.rules {
        writeln!(out, "{:<36} {:<8} {}", r.spec.id, r.spec.severity, r.spec.name)?;
    }
    Ok(Outcome::Clean)
}

fn check_rules(rules: &rules::RuleSet) -> Result<Outcome> {
    let matcher = Matcher::new(rules)?;
    let failures = rulecheck::check(rules, &matcher);
    let mut out = io::stdout().lock();
    for f in &failures {
        let what = if f.expected_finding { "example gave no finding" } else { "negative example gave a finding" };
        writeln!(out, "{}: {what}: {}", f.rule, escape::terminal(&f.example))?;
    }
    let examples: usize = rules.rules.iter().map(|r| r.spec.examples.len() + r.spec.negative_examples.len()).sum();
    writeln!(out, "{} rules, {examples} examples, {} failures", rules.rules.len(), failures.len())?;
    Ok(if failures.is_empty() { Outcome::Clean } else { Outcome::Findings })
}
