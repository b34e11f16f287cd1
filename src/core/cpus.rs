// SPDX-License-Identifier: GPL-2.0-only
//! The machine's CPUs as the policy sees them: which are online, and the order `spread` mode
//! walks them in. Pure (no sysfs): the live scheduler builds it from `scx_utils::Topology`,
//! tests from synthetic machines.
//!
//! The idle-CPU search itself is the kernel's (`scx_bpf_select_cpu_dfl` behind the core's
//! select_cpu): from the CPU it is given, an idle whole core first, then an idle CPU sharing
//! that CPU's last-level cache. So `locality` gives it the task's previous CPU, and `spread`
//! gives it the next CPU of an order that alternates last-level caches and takes the first
//! thread of every core before any SMT sibling: consecutive spread decisions land on
//! different caches and whole cores.

/// Where one CPU sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuInfo {
    pub id: usize,
    /// Physical core (SMT siblings share it).
    pub core: usize,
    /// Last-level cache.
    pub llc: usize,
    pub node: usize,
}

#[derive(Debug, Clone)]
pub struct CpuLayout {
    /// online[cpu]: the CPU was online when the layout was read.
    online: Vec<bool>,
    /// Spread order: LLCs alternate; within an LLC, one thread per core before siblings.
    spread: Vec<usize>,
}

impl CpuLayout {
    pub fn new(cpus: &[CpuInfo]) -> Self {
        let mut online = vec![false; cpus.iter().map(|c| c.id + 1).max().unwrap_or(0)];
        for c in cpus {
            online[c.id] = true;
        }
        // Per LLC (node, llc order), its CPUs ranked by SMT position within their core.
        let mut llcs: Vec<(usize, usize)> = cpus.iter().map(|c| (c.node, c.llc)).collect();
        llcs.sort_unstable();
        llcs.dedup();
        let per_llc: Vec<Vec<usize>> = llcs
            .iter()
            .map(|&(node, llc)| {
                let mut mine: Vec<&CpuInfo> = cpus
                    .iter()
                    .filter(|c| c.node == node && c.llc == llc)
                    .collect();
                mine.sort_by_key(|c| (c.core, c.id));
                // (sibling rank, core, id): first threads of all cores, then second threads...
                let mut ranked: Vec<(usize, usize, usize)> = Vec::with_capacity(mine.len());
                for (i, c) in mine.iter().enumerate() {
                    let rank = mine[..i].iter().filter(|p| p.core == c.core).count();
                    ranked.push((rank, c.core, c.id));
                }
                ranked.sort_unstable();
                ranked.into_iter().map(|(_, _, id)| id).collect()
            })
            .collect();
        let longest = per_llc.iter().map(Vec::len).max().unwrap_or(0);
        let spread = (0..longest)
            .flat_map(|i| per_llc.iter().filter_map(move |l| l.get(i).copied()))
            .collect();
        Self { online, spread }
    }

    /// CPUs with nothing known of their topology: each its own core, one cache.
    pub fn flat(ids: &[usize]) -> Self {
        let cpus: Vec<CpuInfo> = ids
            .iter()
            .map(|&id| CpuInfo {
                id,
                core: id,
                llc: 0,
                node: 0,
            })
            .collect();
        Self::new(&cpus)
    }

    /// online[cpu] for every CPU id up to the highest online one.
    pub fn online(&self) -> &[bool] {
        &self.online
    }

    /// The next CPU in spread order after position `*cursor` (which it advances).
    pub fn next_spread(&self, cursor: &mut usize) -> usize {
        if self.spread.is_empty() {
            return 0;
        }
        *cursor = (*cursor + 1) % self.spread.len();
        self.spread[*cursor]
    }

    /// The whole spread order (for logs and tests).
    pub fn spread_order(&self) -> &[usize] {
        &self.spread
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nodes` × `llcs` × `cores` × `smt`, numbered as Linux does on x86: all first threads,
    /// then all second threads.
    fn machine(nodes: usize, llcs: usize, cores: usize, smt: usize) -> Vec<CpuInfo> {
        let per_thread = nodes * llcs * cores;
        let mut cpus = Vec::new();
        for t in 0..smt {
            for n in 0..nodes {
                for l in 0..llcs {
                    for c in 0..cores {
                        let core = (n * llcs + l) * cores + c;
                        cpus.push(CpuInfo {
                            id: t * per_thread + core,
                            core,
                            llc: n * llcs + l,
                            node: n,
                        });
                    }
                }
            }
        }
        cpus
    }

    #[test]
    fn spread_alternates_caches_and_fills_cores_before_siblings() {
        // 2 LLCs x 2 cores x 2 threads: CPUs 0-3 first threads (0,1 on LLC 0), 4-7 siblings.
        let layout = CpuLayout::new(&machine(1, 2, 2, 2));
        assert_eq!(layout.spread_order(), [0, 2, 1, 3, 4, 6, 5, 7]);
        let info = machine(1, 2, 2, 2);
        let llc = |id: usize| info.iter().find(|c| c.id == id).unwrap().llc;
        let order = layout.spread_order();
        for pair in order.windows(2) {
            assert_ne!(llc(pair[0]), llc(pair[1]), "consecutive CPUs share a cache");
        }
        let first_siblings = order.iter().position(|&c| c >= 4).unwrap();
        assert_eq!(
            first_siblings, 4,
            "every core gets a task before any sibling"
        );
    }

    #[test]
    fn numa_llcs_and_gaps() {
        // 2 nodes x 1 LLC x 3 cores, no SMT; CPU 4 offline (absent).
        let cpus: Vec<CpuInfo> = machine(2, 1, 3, 1)
            .into_iter()
            .filter(|c| c.id != 4)
            .collect();
        let layout = CpuLayout::new(&cpus);
        assert_eq!(layout.spread_order(), [0, 3, 1, 5, 2]);
        assert_eq!(
            layout.online(),
            [true, true, true, true, false, true],
            "offline CPU 4 stays out"
        );
        let mut cursor = layout.spread_order().len() - 1;
        let walk: Vec<usize> = (0..6).map(|_| layout.next_spread(&mut cursor)).collect();
        assert_eq!(walk, [0, 3, 1, 5, 2, 0], "the walk wraps");
    }

    #[test]
    fn flat_and_empty() {
        assert_eq!(CpuLayout::flat(&[0, 1, 2]).spread_order(), [0, 1, 2]);
        let empty = CpuLayout::new(&[]);
        assert_eq!(empty.next_spread(&mut 0), 0);
        assert!(empty.online().is_empty());
    }
}
