//! Staying gentle on a production host: lower CPU and I/O priority for the
//! whole scan (threads created afterwards inherit both).

/// The nice value a scan runs at unless `--fast`.
pub const NICE: i32 = 10;
/// Best-effort I/O class, lowest priority within it (not "idle", which can
/// starve forever on a busy disk).
const IOPRIO_CLASS_BE: i32 = 2;
const IOPRIO_LOWEST: i32 = 7;
const IOPRIO_CLASS_SHIFT: i32 = 13;
const IOPRIO_WHO_PROCESS: i32 = 1;

/// Lowers this thread's CPU and I/O priority; threads spawned after it
/// inherit them. Returns what was set, for the log; failures (a container
/// without the capability) are reported, never fatal.
pub fn lower_priority() -> Vec<String> {
    let mut done = Vec::new();
    // SAFETY: setpriority and ioprio_set only change scheduling attributes
    // of the calling thread; their arguments are plain integers.
    let nice = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
    if nice == 0 {
        done.push(format!("nice {NICE}"));
    } else {
        tracing::warn!(error = %std::io::Error::last_os_error(), "could not lower CPU priority");
    }
    let prio = (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | IOPRIO_LOWEST;
    // SAFETY: as above.
    let io = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
    if io == 0 {
        done.push(format!("I/O best-effort {IOPRIO_LOWEST}"));
    } else {
        tracing::warn!(error = %std::io::Error::last_os_error(), "could not lower I/O priority");
    }
    done
}
