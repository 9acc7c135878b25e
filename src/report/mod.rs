//! Reports: one file per output format, each writing a [`Report`] to any
//! `io::Write`.

pub mod asff;
pub mod compliance;
pub mod inventory;
pub mod json;
pub mod jsonl;
pub mod sarif;
pub mod summary;
pub mod text;

use std::io;

use crate::chain::SubjectChain;
use crate::coverage::Coverage;
use crate::finding::Finding;
use crate::imds::ImdsReport;
use crate::verdict::Verdict;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For a person: the verdict first, then each finding and what to do.
    Text,
    /// One JSON object (schema in docs/report.schema.json).
    Json,
    /// JSON Lines: one finding per line, then one verdict line (SIEMs, log shippers).
    Jsonl,
    /// SARIF 2.1.0.
    Sarif,
    /// AWS Security Finding Format, for Security Hub BatchImportFindings (a JSON array).
    Asff,
    /// One line: the verdict and its counts (fits SSM Run Command's 2,500-character console view).
    Summary,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        <Format as clap::ValueEnum>::from_str(s, true)
    }
}

/// A rule as reports describe it.
#[derive(Clone, Debug)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub severity: crate::rules::Severity,
}

/// Everything one scan has to say.
#[derive(Debug)]
pub struct Report {
    pub hostname: String,
    /// When the scan started.
    pub started_at: std::time::SystemTime,
    /// The rules in use.
    pub rules: Vec<RuleInfo>,
    pub imds: ImdsReport,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// Each process's and user's credential chain (host scans only).
    pub chains: Vec<SubjectChain>,
    pub coverage: Coverage,
    /// What `--ssm-compliance` did, when asked.
    pub ssm_compliance: Option<compliance::Delivery>,
}

impl Report {
    /// Orders findings so that output does not depend on thread timing.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.location, a.kind, &a.key_id, &a.fingerprint).cmp(&(&b.location, b.kind, &b.key_id, &b.fingerprint))
        });
        self.coverage.finish();
    }
}

pub struct Style {
    pub color: bool,
}

impl Report {
    /// The scan's start as RFC 3339 (UTC, whole seconds).
    pub fn scanned_at(&self) -> String {
        humantime::format_rfc3339_seconds(self.started_at).to_string()
    }
}

/// Writes `report` in `format`. Fails (without writing) when the format
/// needs what the scan could not learn (ASFF needs the instance's identity).
pub fn write(report: &Report, format: Format, style: &Style, out: &mut dyn io::Write) -> anyhow::Result<()> {
    match format {
        Format::Text => text::write(report, style, out)?,
        Format::Json => json::write(report, out)?,
        Format::Jsonl => jsonl::write(report, out)?,
        Format::Sarif => sarif::write(report, out)?,
        Format::Asff => asff::write(report, out)?,
        Format::Summary => summary::write(report, out)?,
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory
/// and a rename, so that a reader never sees half a report. The temporary
/// file has a random name and is created exclusively (`O_EXCL`, mode 0600):
/// in a shared directory no one can make rolecall write into, or remove, a
/// file that rolecall did not create.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().with_context(|| format!("{}: not a file name", path.display()))?;
    let written = (|| -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".tmp")
            .tempfile_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    written.with_context(|| format!("writing {}", crate::escape::shown(path)))
}
