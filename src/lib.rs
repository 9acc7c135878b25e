//! rolecall answers, with evidence, one question about an EC2 host: does it
//! rely on static AWS credentials despite having an IAM role?
//!
//! Data flows one way: `settings` → `sources` (what to read) → `scan` and
//! `matcher` (bytes to matches) → `finding` → `report`, with `coverage`
//! recording what could not be read. `main.rs` only parses and calls [`run`].

pub mod awsconfig;
pub mod chain;
pub mod cli;
pub mod coverage;
pub mod environ;
pub mod escape;
pub mod exit;
pub mod finding;
pub mod imds;
pub mod matcher;
pub mod pipeline;
pub mod report;
pub mod rulecheck;
pub mod rules;
pub mod scan;
pub mod settings;
pub mod sources;
pub mod verdict;

use std::io::{self, Write};

use anyhow::{Context, Result};

use crate::cli::{Cli, Command, RulesAction, ScanArgs};
use crate::exit::Outcome;
use crate::matcher::Matcher;
use crate::report::Style;
use crate::settings::Settings;

/// Runs one command line to its outcome.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Scan(args) => scan(&args),
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
    let matcher = Matcher::new(&settings.rules)?;
    tracing::info!(rules = settings.rules.rules.len(), threads = settings.walk.threads, "scan starting");
    let report = pipeline::run(&settings, &matcher);
    let mut out = io::stdout().lock();
    report::write(&report, settings.format, &Style { color: settings.color }, &mut out)
        .context("writing the report")?;
    out.flush().context("writing the report")?;
    // A path the user named could not be scanned: a gate must not pass on it.
    let not_found = report.coverage.gap_counts.contains_key(&coverage::GapReason::NotFound);
    Ok(if not_found { Outcome::Error } else { report.verdict.outcome() })
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
