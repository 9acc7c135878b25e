//! Turns what the user typed (and, later, /etc/rolecall/config.toml) into
//! one resolved `Settings` value that the rest of the program reads.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cli::{ColorChoice, ScanArgs};
use crate::report::Format;
use crate::rules::RuleSet;
use crate::scan::DEFAULT_CHUNK_SIZE;
use crate::sources::walk::WalkOptions;

/// Walker threads unless told otherwise: a production host keeps its cores.
pub const DEFAULT_THREADS: usize = 2;

/// Directories under the host root that are never entered.
pub const PSEUDO_DIRS: &[&str] = &["proc", "sys", "dev", "run"];

/// Everything a scan needs to know, resolved.
#[derive(Debug)]
pub struct Settings {
    /// What to walk.
    pub roots: Vec<PathBuf>,
    pub format: Format,
    pub rules: RuleSet,
    pub walk: WalkOptions,
    /// Colour in text output.
    pub color: bool,
    /// When the scan started (for elapsed time and the deadline).
    pub started: Instant,
}

impl Settings {
    pub fn from_args(args: &ScanArgs) -> Result<Settings> {
        let started = Instant::now();
        let rules = load_rules(args.rules.as_deref())?;
        if args.paths.is_empty() {
            bail!("name the files or directories to scan (for example: rolecall scan /etc /home /opt)");
        }
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let exclude = args.exclude.iter().map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())).collect();
        Ok(Settings {
            roots: args.paths.clone(),
            format: args.format,
            rules,
            walk: WalkOptions {
                prune: PSEUDO_DIRS.iter().map(|d| Path::new("/").join(d)).collect(),
                exclude,
                one_file_system: !args.cross_filesystems,
                threads: args.threads.map_or(DEFAULT_THREADS, usize::from),
                chunk_size: args.chunk_size.map_or(DEFAULT_CHUNK_SIZE, |c| c as usize),
                deadline: args.max_seconds.map(|s| started + Duration::from_secs(s)),
            },
            color,
            started,
        })
    }
}

/// The built-in rules, or those in `dir`.
pub fn load_rules(dir: Option<&Path>) -> Result<RuleSet> {
    match dir {
        Some(d) => RuleSet::from_dir(d),
        None => RuleSet::embedded(),
    }
}
