// SPDX-License-Identifier: GPL-2.0-only
//! Per-task state the policy keeps between two enqueues, with a hard bound on its size.
//!
//! The kernel only hands back the deadline we sent last time, not the task's own vruntime, so
//! the vruntime lives here. A queued task whose kernel-side vtime is 0 is new (fresh fork or a
//! reused pid): its entry starts over. When the table is full, the entries seen least recently
//! are evicted, so memory never grows with the number of tasks that ever existed.

use std::collections::HashMap;

/// Hard bound on tracked tasks (a few MiB at most).
pub const MAX_TASKS: usize = 32_768;

/// What we remember about one task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskEntry {
    /// Our weighted vruntime for the task (0 until first decided).
    pub vruntime: u64,
    /// Round in which the task was last queued: the eviction order.
    pub last_seen_round: u64,
}

/// pid → [`TaskEntry`], preallocated so the dispatch loop does not allocate.
#[derive(Debug)]
pub struct TaskTable {
    entries: HashMap<i32, TaskEntry>,
    capacity: usize,
    /// Scratch space for eviction (preallocated, reused).
    scratch: Vec<u64>,
    evictions: u64,
}

impl TaskTable {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self {
            entries: HashMap::with_capacity(capacity),
            capacity,
            scratch: Vec::with_capacity(capacity),
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// The entry for `pid`, reset when the kernel says the task is new.
    pub fn touch(&mut self, pid: i32, is_new: bool, round: u64) -> &mut TaskEntry {
        if !self.entries.contains_key(&pid) && self.entries.len() >= self.capacity {
            self.evict_oldest_half();
        }
        let entry = self.entries.entry(pid).or_default();
        if is_new {
            *entry = TaskEntry::default();
        }
        entry.last_seen_round = round;
        entry
    }

    /// Drop the half of the table seen least recently (amortised O(1) per insert).
    fn evict_oldest_half(&mut self) {
        self.scratch.clear();
        self.scratch
            .extend(self.entries.values().map(|e| e.last_seen_round));
        let mid = self.scratch.len() / 2;
        let (_, cutoff, _) = self.scratch.select_nth_unstable(mid);
        let cutoff = *cutoff;
        let before = self.entries.len();
        self.entries.retain(|_, e| e.last_seen_round > cutoff);
        self.evictions += (before - self.entries.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_task_resets_reused_pid() {
        let mut t = TaskTable::with_capacity(8);
        t.touch(7, true, 1).vruntime = 500;
        assert_eq!(t.touch(7, false, 2).vruntime, 500);
        assert_eq!(t.touch(7, true, 3).vruntime, 0);
    }

    #[test]
    fn size_is_bounded_and_oldest_go_first() {
        let mut t = TaskTable::with_capacity(100);
        for pid in 0..100_000 {
            t.touch(pid, true, pid as u64);
            assert!(t.len() <= 100);
        }
        // The most recent task is always kept, the oldest long gone.
        assert!(t.entries.contains_key(&99_999));
        assert!(!t.entries.contains_key(&0));
        assert!(t.evictions() >= 99_900);
    }
}
