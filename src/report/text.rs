//! `--format text`: for a person over SSH. The summary comes first, then each
//! finding with what it is, where it is, and what to do about it.

use std::io;

use super::{Report, Style};
use crate::coverage::Coverage;
use crate::escape;
use crate::finding::{Finding, Kind, Location};
use crate::rules::Severity;

struct Paint<'a> {
    style: &'a Style,
}

impl Paint<'_> {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.style.color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn severity(&self, s: Severity) -> String {
        let label = s.to_string().to_uppercase();
        match s {
            Severity::Critical | Severity::High => self.wrap("1;31", &label),
            Severity::Medium => self.wrap("33", &label),
            Severity::Low | Severity::Info => self.wrap("36", &label),
        }
    }
}

pub fn write(report: &Report, style: &Style, out: &mut dyn io::Write) -> io::Result<()> {
    let paint = Paint { style };
    writeln!(out, "{}", paint.bold(&headline(report)))?;
    writeln!(out, "{}", scanned_line(&report.coverage))?;
    for (i, f) in report.findings.iter().enumerate() {
        writeln!(out)?;
        write_finding(out, &paint, i + 1, f)?;
    }
    write_coverage(out, &paint, &report.coverage)
}

fn headline(report: &Report) -> String {
    let n = report.findings.len();
    if n == 0 {
        return "rolecall: no AWS credentials found".to_string();
    }
    let count =
        |k: Kind, secret: bool| report.findings.iter().filter(|f| f.kind == k && f.has_secret() == secret).count();
    let mut parts = Vec::new();
    for (k, secret, what) in [
        (Kind::LongTerm, true, "long-term key with its secret"),
        (Kind::LongTerm, false, "long-term key ID alone"),
        (Kind::Temporary, true, "temporary key with its secret"),
        (Kind::Temporary, false, "temporary key ID alone"),
        (Kind::SecretOnly, true, "secret access key without its key ID"),
    ] {
        let c = count(k, secret);
        if c > 0 {
            parts.push(format!("{c} {what}"));
        }
    }
    format!("rolecall: {n} AWS credential{} found ({})", plural(n), parts.join(", "))
}

fn scanned_line(c: &Coverage) -> String {
    let mut s = format!(
        "scanned {} file{}, {}, in {:.2} s",
        c.files_scanned,
        plural(c.files_scanned as usize),
        human_bytes(c.bytes_scanned),
        c.elapsed_ms as f64 / 1000.0
    );
    let gaps = c.gaps_total();
    if gaps > 0 {
        s.push_str(&format!("; {gaps} could not be read (see coverage below)"));
    }
    if !c.complete {
        s.push_str("; INCOMPLETE");
    }
    s
}

fn write_finding(out: &mut dyn io::Write, paint: &Paint, n: usize, f: &Finding) -> io::Result<()> {
    let what = match (&f.key_id, f.kind) {
        (Some(id), _) => {
            let with = match (f.has_secret(), f.session_token.is_some()) {
                (true, true) => " with its secret and session token",
                (true, false) => " with its secret",
                (false, _) => " (key ID only, no secret next to it)",
            };
            format!("{} {id}{with}", f.kind)
        }
        (None, kind) => kind.to_string(),
    };
    writeln!(out, "{n}. {} {what}", paint.severity(f.severity))?;
    let repeats = if f.occurrences > 1 { format!(" ({} occurrences)", f.occurrences) } else { String::new() };
    writeln!(out, "   where  {}{repeats}", where_text(&f.location))?;
    if let Some(acct) = f.account() {
        writeln!(out, "   owner  account {acct} (decoded from the key ID)")?;
    }
    writeln!(out, "   rule   {}, fingerprint {}", f.rule, f.fingerprint)?;
    writeln!(out, "   do     {}", advice(f))
}

fn where_text(loc: &Location) -> String {
    match loc {
        Location::File { path, line, column } => {
            format!("{}:{line}:{column}", escape::terminal(&escape::path(path)))
        }
    }
}

/// What an operator should do about a finding.
fn advice(f: &Finding) -> String {
    let in_account = f.account().map(|a| format!(" in account {a}")).unwrap_or_default();
    let here = match f.location {
        Location::File { .. } => "remove it from this file",
    };
    match (f.kind, &f.key_id, f.has_secret()) {
        (Kind::LongTerm, Some(id), true) => format!(
            "Deactivate access key {id}{in_account} (aws iam update-access-key --status Inactive), {here}, \
             and give the workload the instance role instead; delete the key once nothing breaks."
        ),
        (Kind::LongTerm, Some(id), false) => format!(
            "The key ID alone cannot sign requests, but its secret may be stored elsewhere: check whether {id}{in_account} \
             is still active (aws iam get-access-key-last-used) and deactivate it if so; {here}."
        ),
        (Kind::Temporary, _, true) => format!(
            "Temporary credentials work until they expire: {here}. If they are this instance's role credentials \
             copied out, let the application fetch them from IMDS itself."
        ),
        (Kind::Temporary, _, false) => {
            format!("A temporary key ID alone cannot sign requests; {here}.")
        }
        _ => format!(
            "Find the access key this secret belongs to (its key ID may be in another file or variable), \
             deactivate it, and {here}."
        ),
    }
}

fn write_coverage(out: &mut dyn io::Write, paint: &Paint, c: &Coverage) -> io::Result<()> {
    let gaps = c.gaps_total();
    let skipped: u64 = c.skipped.values().sum();
    let ignored = c.ignored.examples + c.ignored.placeholders;
    if gaps == 0 && skipped == 0 && ignored == 0 {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{}", paint.bold("coverage"))?;
    if gaps > 0 {
        let by: Vec<String> = c.gap_counts.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        writeln!(out, "   not read: {gaps} ({})", by.join(", "))?;
        for g in &c.gaps {
            writeln!(out, "     {}: {}", escape::terminal(&g.target), escape::terminal(&g.detail))?;
        }
        if (c.gaps.len() as u64) < gaps {
            writeln!(out, "     ... and {} more", gaps - c.gaps.len() as u64)?;
        }
    }
    for (reason, n) in &c.skipped {
        writeln!(out, "   skipped: {n} {reason}")?;
    }
    if ignored > 0 {
        let mut parts = Vec::new();
        for (n, what) in [(c.ignored.examples, "AWS documentation example"), (c.ignored.placeholders, "placeholder")] {
            if n > 0 {
                parts.push(format!("{n} {what}{}", plural(n as usize)));
            }
        }
        writeln!(out, "   ignored: {} (not credentials)", parts.join(", "))?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}
