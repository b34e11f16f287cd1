// SPDX-License-Identifier: GPL-2.0-only
//! Medians and bootstrap intervals of ratios between schedulers' repetitions, and the verdict
//! a target gets from an interval: `met` only when the whole interval is on the right side.

use serde::Serialize;

/// Bootstrap resamples per interval.
const RESAMPLES: usize = 2000;
/// Two-sided 95 % interval.
const ALPHA: f64 = 0.05;

pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// A small deterministic generator (xorshift64*): the same data give the same interval.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// The median of `num` over the median of `den` and its bootstrap 95 % interval: both sets of
/// repetitions resampled with replacement, the ratio of medians taken each time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

pub fn ratio_interval(num: &[f64], den: &[f64]) -> Option<Ratio> {
    let value = median(num)? / median(den).filter(|d| *d > 0.0)?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (num.len() as u64) << 8 ^ den.len() as u64);
    let mut ratios = Vec::with_capacity(RESAMPLES);
    let (mut a, mut b) = (vec![0.0; num.len()], vec![0.0; den.len()]);
    for _ in 0..RESAMPLES {
        a.iter_mut().for_each(|x| *x = num[rng.below(num.len())]);
        b.iter_mut().for_each(|x| *x = den[rng.below(den.len())]);
        if let (Some(x), Some(y)) = (median(&a), median(&b)) {
            if y > 0.0 {
                ratios.push(x / y);
            }
        }
    }
    ratios.sort_by(f64::total_cmp);
    let at = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
    (!ratios.is_empty()).then(|| Ratio {
        value,
        lo: at(ALPHA / 2.0),
        hi: at(1.0 - ALPHA / 2.0),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The whole interval is on the goal's side.
    Met,
    /// The interval straddles the goal.
    Unclear,
    /// The whole interval is on the wrong side.
    Missed,
    /// Nothing to judge (a scheduler or workload did not run).
    Unmeasured,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Unclear => "unclear",
            Verdict::Missed => "**missed**",
            Verdict::Unmeasured => "not measured",
        }
    }
}

/// Which side of the goal is good.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Goal {
    AtMost(f64),
    AtLeast(f64),
    Below(f64),
}

impl Goal {
    pub fn text(self) -> String {
        match self {
            Goal::AtMost(g) => format!("<= {g:.2}"),
            Goal::AtLeast(g) => format!(">= {g:.2}"),
            Goal::Below(g) => format!("< {g:.2}"),
        }
    }

    fn ok(self, x: f64) -> bool {
        match self {
            Goal::AtMost(g) => x <= g,
            Goal::AtLeast(g) => x >= g,
            Goal::Below(g) => x < g,
        }
    }

    /// Met when both ends of the interval are good, missed when neither is.
    pub fn judge(self, r: Option<Ratio>) -> Verdict {
        match r {
            None => Verdict::Unmeasured,
            Some(r) => match (self.ok(r.lo), self.ok(r.hi)) {
                (true, true) => Verdict::Met,
                (false, false) => Verdict::Missed,
                _ => Verdict::Unclear,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_repetitions_give_a_point_interval() {
        let r = ratio_interval(&[2.0, 2.0, 2.0], &[4.0, 4.0, 4.0]).unwrap();
        assert_eq!((r.value, r.lo, r.hi), (0.5, 0.5, 0.5));
        assert_eq!(Goal::AtMost(0.5).judge(Some(r)), Verdict::Met);
        assert_eq!(Goal::Below(0.5).judge(Some(r)), Verdict::Missed);
    }

    #[test]
    fn spread_repetitions_give_an_interval_around_the_median_ratio() {
        let r = ratio_interval(&[4.0, 5.0, 6.0], &[9.0, 10.0, 11.0]).unwrap();
        assert_eq!(r.value, 0.5);
        assert!(r.lo < 0.5 && r.hi > 0.5, "{r:?}");
        assert!(r.lo >= 4.0 / 11.0 && r.hi <= 6.0 / 9.0, "{r:?}");
        // The same data: the same interval.
        assert_eq!(
            ratio_interval(&[4.0, 5.0, 6.0], &[9.0, 10.0, 11.0]),
            Some(r)
        );
        assert_eq!(Goal::AtMost(0.5).judge(Some(r)), Verdict::Unclear);
        assert_eq!(Goal::AtMost(0.9).judge(Some(r)), Verdict::Met);
        assert_eq!(Goal::AtLeast(0.9).judge(Some(r)), Verdict::Missed);
        assert_eq!(Goal::AtLeast(0.9).judge(None), Verdict::Unmeasured);
    }

    #[test]
    fn no_data_no_ratio() {
        assert_eq!(ratio_interval(&[], &[1.0]), None);
        assert_eq!(ratio_interval(&[1.0], &[0.0]), None);
        assert_eq!(median(&[3.0, 1.0]), Some(2.0));
    }
}
