//! Baselines: acknowledgements of findings by fingerprint, with a reason
//! and an optional expiry date. Acknowledged findings are still listed but
//! do not fail the verdict; expired acknowledgements count again.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::location::Location;

/// A baseline file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default)]
    pub acknowledged: Vec<Acknowledgement>,
}

/// One acknowledged finding.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    /// The finding's fingerprint: what matching uses.
    pub fingerprint: String,
    /// For people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub reason: String,
    /// `YYYY-MM-DD`: from this day on the finding counts again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// True if and only if `s` is a date written `YYYY-MM-DD`.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0))
}

/// Today (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_string()
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline> {
        let meta = std::fs::metadata(path).with_context(|| format!("reading baseline {}", path.display()))?;
        if meta.len() > 16 * 1024 * 1024 {
            bail!("baseline {} is larger than 16 MiB", path.display());
        }
        let text = std::fs::read_to_string(path).with_context(|| format!("reading baseline {}", path.display()))?;
        let b: Baseline = toml::from_str(&text).with_context(|| format!("parsing baseline {}", path.display()))?;
        if let Some(a) = b.acknowledged.iter().find(|a| a.expires.as_deref().is_some_and(|d| !is_date(d))) {
            bail!(
                "baseline {}: expires {:?} is not a YYYY-MM-DD date",
                path.display(),
                a.expires.as_deref().unwrap_or("")
            );
        }
        Ok(b)
    }

    /// Adds every finding not already acknowledged.
    pub fn acknowledge(&mut self, findings: &[Finding], reason: &str, expires: Option<&str>) -> usize {
        let mut added = 0;
        for f in findings {
            if self.acknowledged.iter().any(|a| a.fingerprint == f.fingerprint) {
                continue;
            }
            let location = match &f.location {
                Location::File { .. } => f.location.place(),
                _ => f.location.stable_place(),
            };
            self.acknowledged.push(Acknowledgement {
                fingerprint: f.fingerprint.clone(),
                key_id: f.key_id.as_ref().map(|k| k.to_string()),
                location: Some(location),
                reason: reason.to_string(),
                expires: expires.map(str::to_string),
            });
            added += 1;
        }
        added
    }

    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string_pretty(self)?;
        Ok(format!(
            "# rolecall baseline: findings acknowledged by fingerprint. Acknowledged findings are still\n\
             # reported but do not fail the verdict; from its `expires` date an entry counts again.\n\n{body}"
        ))
    }

    /// The acknowledgement of `fingerprint`, if any.
    pub fn find(&self, fingerprint: &str) -> Option<&Acknowledgement> {
        self.acknowledged.iter().find(|a| a.fingerprint == fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_date("2027-01-31"));
        assert!(!is_date("2027-1-31"));
        assert!(!is_date("2027-13-01"));
        assert!(!is_date("tomorrow"));
        assert_eq!(today().len(), 10);
        assert!(is_date(&today()));
    }
}
