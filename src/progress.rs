//! A progress line on stderr for long scans, only when stderr is a terminal:
//! what has been read so far, so that a person over SSH knows it is working.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Counters the walker threads bump.
#[derive(Debug, Default)]
pub struct Counters {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    done: AtomicBool,
}

impl Counters {
    pub fn add(&self, bytes: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn finish(&self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// Shows a spinner after a second, until `counters.finish()`.
pub fn show(counters: Arc<Counters>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for _ in 0..10 {
            if counters.done.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} scanning: {msg} ({elapsed})").expect("a valid template"),
        );
        while !counters.done.load(Ordering::Relaxed) {
            let files = counters.files.load(Ordering::Relaxed);
            let mib = counters.bytes.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0);
            bar.set_message(format!("{files} files, {mib:.0} MiB"));
            bar.tick();
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    })
}
