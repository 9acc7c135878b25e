//! rolecall answers, with evidence, one question about an EC2 host: does it
//! rely on static AWS credentials despite having an IAM role?
//!
//! Modules are layered, and each imports only from its own layer or those
//! below it (`tests` in this file checks it):
//!
//! 0. vocabulary and host access: `escape`, `exit`, `credential`,
//!    `location`, `coverage`, `hostfs`, `environ`, `progress`, `gentle`;
//! 1. engines and network clients: `rules`, `matcher`, `awsconfig`, `imds`, `awsapi`, `sts`;
//! 2. `sources`: what to read (users, processes, the host plan, the walk);
//! 3. `scan`: bytes to sightings (chunked matching, pairing);
//! 4. `finding`: sightings to findings;
//! 5. `chain`: which credential each SDK would load, for each process and user;
//! 6. `baseline`, `verdict`: live or not, and the verdict;
//! 7. `report`, `fleet`: output;
//! 8. `cli`, `settings`, `rulecheck`, `pipeline` and this file: the program.
//!
//! `main.rs` only parses and calls [`run`].

// 0: vocabulary and host access
pub mod coverage;
pub mod credential;
pub mod environ;
pub mod escape;
pub mod exit;
pub mod gentle;
pub mod hostfs;
pub mod location;
pub mod progress;
// 1: engines and network clients
pub mod awsapi;
pub mod awsconfig;
pub mod canary;
pub mod imds;
pub mod matcher;
pub mod rules;
pub mod sts;
// 2-7: sources, scan, finding, chain, verdict, reports
pub mod baseline;
pub mod chain;
pub mod finding;
pub mod fleet;
pub mod report;
pub mod scan;
pub mod sources;
pub mod verdict;
// 8: the program
pub mod cli;
pub mod pipeline;
pub mod rulecheck;
pub mod settings;

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
        Command::Man { dir } => {
            clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), &dir)
                .with_context(|| format!("writing manual pages into {}", dir.display()))?;
            Ok(Outcome::Clean)
        }
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
    let mut report = run_scan(&settings)?;
    if let Some(endpoint) = &settings.ssm_compliance {
        report.ssm_compliance = Some(report::compliance::put(&report, endpoint.as_deref(), settings.scan.deadline));
    }
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
        tracing::info!(path = %escape::shown(&path), "SSM custom inventory written");
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

/// The verdict's outcome; when it is an error, stderr says why.
fn outcome(report: &report::Report) -> Outcome {
    let outcome = report.verdict.outcome();
    if outcome == Outcome::Error {
        for g in report.coverage.gaps.iter().filter(|g| g.reason == coverage::GapReason::NotFound) {
            eprintln!(
                "rolecall: {}: {} (exit 2: a path that was asked for could not be scanned)",
                escape::terminal(&g.target),
                escape::terminal(&g.detail)
            );
        }
    }
    outcome
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
    let examples: usize =
        rules.rules.iter().map(|r| r.spec.examples.len() + r.spec.negative_examples.len()).sum::<usize>()
            + rules.pairings.iter().map(|p| p.examples.len() + p.negative_examples.len()).sum::<usize>();
    writeln!(
        out,
        "{} rules, {} pairings, {examples} examples, {} failures",
        rules.rules.len(),
        rules.pairings.len(),
        failures.len()
    )?;
    Ok(if failures.is_empty() { Outcome::Clean } else { Outcome::Findings })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Each top-level module's layer, as the module documentation above lists them.
    const LAYERS: &[(&str, u8)] = &[
        ("escape", 0),
        ("exit", 0),
        ("credential", 0),
        ("canary", 1),
        ("location", 0),
        ("coverage", 0),
        ("hostfs", 0),
        ("environ", 0),
        ("progress", 0),
        ("gentle", 0),
        ("rules", 1),
        ("matcher", 1),
        ("awsconfig", 1),
        ("imds", 1),
        ("awsapi", 1),
        ("sts", 1),
        ("sources", 2),
        ("scan", 3),
        ("finding", 4),
        ("chain", 5),
        ("baseline", 6),
        ("verdict", 6),
        ("report", 7),
        ("fleet", 7),
        ("cli", 8),
        ("settings", 8),
        ("rulecheck", 8),
        ("pipeline", 8),
        ("lib", 8),
    ];

    /// `crate::NAME` paths in the Rust files under `dir`, by the top-level module they are in.
    fn imports(dir: &Path, module: Option<&str>, out: &mut BTreeMap<String, BTreeSet<String>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let owner = module.map(str::to_string).unwrap_or_else(|| name.clone());
            if path.is_dir() {
                imports(&path, Some(&owner), out);
            } else if path.extension().is_some_and(|e| e == "rs") && owner != "main" {
                let text = std::fs::read_to_string(&path).unwrap();
                let used = out.entry(owner.clone()).or_default();
                for (i, _) in text.match_indices("crate::") {
                    let rest = &text[i + 7..];
                    let target: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                    if !target.is_empty() && target != owner {
                        used.insert(target);
                    }
                }
            }
        }
    }

    #[test]
    fn imports_go_down_the_layers_and_never_in_a_circle() {
        let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
        let mut graph = BTreeMap::new();
        imports(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), None, &mut graph);
        for (module, used) in &graph {
            let mine = *layer.get(module.as_str()).unwrap_or_else(|| panic!("module {module} has no layer in LAYERS"));
            for target in used {
                let theirs = *layer.get(target.as_str()).unwrap_or_else(|| panic!("{module} uses unknown {target}"));
                assert!(theirs <= mine, "{module} (layer {mine}) reaches up to {target} (layer {theirs})");
            }
        }
        // No circle among modules of one layer: take away modules that use no other, until none is left.
        let mut left: BTreeMap<&String, BTreeSet<&String>> =
            graph.iter().map(|(m, used)| (m, used.iter().filter(|u| graph.contains_key(*u)).collect())).collect();
        while !left.is_empty() {
            let free: Vec<&String> = left.iter().filter(|(_, used)| used.is_empty()).map(|(m, _)| *m).collect();
            assert!(!free.is_empty(), "modules that import each other in a circle: {left:?}");
            for m in free {
                left.remove(m);
                for used in left.values_mut() {
                    used.remove(m);
                }
            }
        }
    }
}
