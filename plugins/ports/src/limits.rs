//! How many sockets the scan may hold open at once: the soft open-file limit is raised to the
//! hard one, and what is already open plus a margin for the rest of the run is kept free, so
//! the scan never meets "too many open files".

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

/// File descriptors left for the other collectors, the runtime and the report.
pub const MARGIN: u64 = 256;

/// The open-file budget the scan may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// The soft limit after raising it.
    pub soft_limit: u64,
    /// Descriptors open when the scan began.
    pub in_use: u64,
    /// What the scan may hold at once.
    pub available: u64,
}

/// The kernel's ceiling for one process's descriptors (`/proc/sys/fs/nr_open`): a soft limit
/// above it is refused, even when the hard limit is "unlimited".
fn kernel_ceiling() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The soft limit to ask for: the hard one, but never above the kernel's ceiling (an
/// "unlimited" hard limit cannot be a soft one).
pub fn target_soft(soft: u64, hard: u64, ceiling: Option<u64>) -> u64 {
    let want = match ceiling {
        Some(c) => hard.min(c),
        None if hard == RLIM_INFINITY => soft,
        None => hard,
    };
    want.max(soft)
}

/// Raises the soft open-file limit to the hard one (best effort) and says what is free.
pub fn raise_and_measure() -> FdBudget {
    let soft_limit = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            let want = target_soft(soft, hard, kernel_ceiling());
            if want > soft && setrlimit(Resource::RLIMIT_NOFILE, want, hard).is_ok() {
                want
            } else {
                soft
            }
        }
        // Without getrlimit, assume the common default.
        Err(_) => 1024,
    };
    let in_use = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(64);
    FdBudget {
        soft_limit,
        in_use,
        available: budget(soft_limit, in_use),
    }
}

/// What may be used with `soft_limit` and `in_use` descriptors: at least 16, so a process
/// already at its limit still scans, slowly, and backs off on EMFILE.
pub fn budget(soft_limit: u64, in_use: u64) -> u64 {
    soft_limit
        .saturating_sub(in_use)
        .saturating_sub(MARGIN)
        .max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_margin() {
        assert_eq!(budget(1024, 24), 1024 - 24 - MARGIN);
        assert_eq!(budget(300, 100), 16);
        assert_eq!(budget(u64::MAX, 10), u64::MAX - 10 - MARGIN);
        let b = raise_and_measure();
        assert_ne!(b.soft_limit, RLIM_INFINITY);
        assert!(b.available >= 16 && b.available < b.soft_limit.max(17));
    }

    #[test]
    fn an_unlimited_hard_limit_is_capped_at_the_kernels_ceiling() {
        assert_eq!(target_soft(1024, RLIM_INFINITY, Some(1_048_576)), 1_048_576);
        assert_eq!(target_soft(1024, RLIM_INFINITY, None), 1024);
        assert_eq!(target_soft(1024, 4096, Some(1_048_576)), 4096);
        assert_eq!(target_soft(1024, 524_288, None), 524_288);
        // Never lowered.
        assert_eq!(target_soft(8192, 8192, Some(4096)), 8192);
    }
}
