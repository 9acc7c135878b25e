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
    // Only ever lower: a unit that already runs at nice 19 or idle I/O
    // (as the shipped systemd unit does) keeps it.
    // SAFETY: getpriority, setpriority, ioprio_get and ioprio_set only read
    // or change scheduling attributes of the calling thread; their
    // arguments are plain integers.
    let current = unsafe {
        *libc::__errno_location() = 0;
        libc::getpriority(libc::PRIO_PROCESS, 0)
    };
    if current >= NICE {
        done.push(format!("nice {current} (kept)"));
    } else if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) } == 0 {
        done.push(format!("nice {NICE}"));
    } else {
        tracing::warn!(error = %std::io::Error::last_os_error(), "could not lower CPU priority");
    }
    let io_now = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) } as i32;
    let (class, level) = (io_now >> IOPRIO_CLASS_SHIFT, io_now & 0xff);
    const IOPRIO_CLASS_IDLE: i32 = 3;
    if io_now >= 0 && (class == IOPRIO_CLASS_IDLE || (class == IOPRIO_CLASS_BE && level >= IOPRIO_LOWEST)) {
        done.push("I/O priority (kept)".to_string());
    } else {
        let prio = (IOPRIO_CLASS_BE << IOPRIO_CLASS_SHIFT) | IOPRIO_LOWEST;
        if unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) } == 0 {
            done.push(format!("I/O best-effort {IOPRIO_LOWEST}"));
        } else {
            tracing::warn!(error = %std::io::Error::last_os_error(), "could not lower I/O priority");
        }
    }
    done
}
