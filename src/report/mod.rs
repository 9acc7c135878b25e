//! Reports: one file per output format, each writing a [`Report`] to any
//! `io::Write`.

pub mod json;
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
    /// For a person: the summary first, then each finding and what to do.
    Text,
    /// One JSON object (schema in docs/report.schema.json).
    Json,
}

/// Everything one scan has to say.
#[derive(Debug)]
pub struct Report {
    pub hostname: String,
    pub imds: ImdsReport,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// Each process's and user's credential chain (host scans only).
    pub chains: Vec<SubjectChain>,
    pub coverage: Coverage,
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

pub fn write(report: &Report, format: Format, style: &Style, out: &mut dyn io::Write) -> io::Result<()> {
    match format {
        Format::Text => text::write(report, style, out),
        Format::Json => json::write(report, out),
    }
}
