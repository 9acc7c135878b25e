//! The read ceiling: walks a tree with the walker settings rolecall uses
//! (`sources::walk::read_everything`, on one file system) and
//! reads every regular file in 256 KiB reads, doing nothing with the bytes.
//! With `--match`, each buffer read also goes through rolecall's matcher
//! (the embedded rules' keyword search and regexes) and nothing else: no
//! checked opens, gzip, pairing or chunk overlap. That is the floor for any
//! scan that must search every byte it reads. `benches/vs_ceiling.sh` times
//! both against `rolecall scan` on the same tree.
//!
//! usage: read_ceiling --bench [--match] TREE THREADS   (run by cargo test, it reads src/)

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};

use ignore::{WalkBuilder, WalkState};

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let matching = std::env::args().any(|a| a == "--match");
    let rules = rolecall::rules::RuleSet::embedded().expect("the embedded rules");
    let matcher = rolecall::matcher::Matcher::new(&rules).expect("the matcher");
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let root = match (bench, args.first()) {
        (true, Some(tree)) => tree.clone(),
        _ => concat!(env!("CARGO_MANIFEST_DIR"), "/src").to_string(),
    };
    let threads = args.get(1).and_then(|t| t.parse().ok()).unwrap_or(2);
    let device = std::fs::metadata(&root).map(|m| m.dev()).unwrap_or_else(|e| panic!("{root}: {e}"));
    let (files, bytes, matches) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    rolecall::sources::walk::read_everything(&mut WalkBuilder::new(&root))
        .same_file_system(true)
        .threads(threads)
        .build_parallel()
        .run(|| {
            let mut buf = vec![0u8; 256 << 10];
            let (files, bytes, matches, matcher) = (&files, &bytes, &matches, &matcher);
            let mut scratch = matcher.scratch();
            let mut found = Vec::new();
            Box::new(move |entry| {
                let Ok(entry) = entry else { return WalkState::Continue };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                let Ok(mut f) = std::fs::File::open(entry.path()) else { return WalkState::Continue };
                if f.metadata().map(|m| m.dev()).ok() != Some(device) {
                    return WalkState::Continue;
                }
                files.fetch_add(1, Ordering::Relaxed);
                while let Ok(n) = f.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    bytes.fetch_add(n as u64, Ordering::Relaxed);
                    if matching {
                        found.clear();
                        matcher.find(&buf[..n], &mut scratch, &mut found);
                        matches.fetch_add(found.len() as u64, Ordering::Relaxed);
                    }
                }
                WalkState::Continue
            })
        });
    let (files, bytes) = (files.load(Ordering::Relaxed), bytes.load(Ordering::Relaxed));
    match matching {
        true => println!("read {files} files, {bytes} bytes, {} raw matches", matches.load(Ordering::Relaxed)),
        false => println!("read {files} files, {bytes} bytes"),
    }
}
