//! Who runs syncs, and reclaiming the lease of a run that crashed on this machine.
//!
//! A run holds its integration's lease (in the store) until it ends; a process that is killed
//! leaves the lease behind until it expires. The service names its runs after the machine's
//! boot and the process (`directory-sync:<boot id>:<pid>`, Linux), so a later run on the same
//! machine can tell that the holder is gone — same boot, no such process — and take the lease
//! back at once instead of failing until it expires. Anywhere else the name is
//! `directory-sync:<pid>` and a crashed run's lease simply expires.

use std::path::Path;

const PREFIX: &str = "directory-sync:";

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// This process's name in leases.
pub(crate) fn local_holder() -> String {
    match boot_id() {
        Some(boot) => format!("{PREFIX}{boot}:{}", std::process::id()),
        None => format!("{PREFIX}{}", std::process::id()),
    }
}

/// Whether `holder` (as stored: `<name>#<run>`) is a process of this machine's current boot
/// that is no longer running. Unknown names, other machines and live processes are not.
pub(crate) fn holder_is_dead(holder: &str) -> bool {
    let name = holder.split('#').next().unwrap_or_default();
    let Some((boot, pid)) = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.rsplit_once(':'))
    else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    Some(boot) == boot_id().as_deref()
        && pid != std::process::id()
        && !Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dead_processes_of_this_boot_are_dead() {
        let me = local_holder();
        assert!(me.starts_with(PREFIX));
        assert!(
            !holder_is_dead(&format!("{me}#run")),
            "this process is alive"
        );
        assert!(!holder_is_dead("someone-else:1234#run"));
        assert!(!holder_is_dead("directory-sync:other-boot:4000000#run"));
        if let Some(boot) = boot_id() {
            // Pids are below 2^22 on Linux: this one cannot be running.
            assert!(holder_is_dead(&format!("{PREFIX}{boot}:4194305#run")));
            assert!(
                !holder_is_dead(&format!("{PREFIX}{boot}:1#run")),
                "init is alive"
            );
        }
    }
}
