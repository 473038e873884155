//! Order statistics for the reports: nearest-rank percentiles (with 20 trials, p99 is the
//! largest value; no interpolation between trials).
use serde::{Deserialize, Serialize};

/// The nearest-rank `q` quantile (0 < q ≤ 1) of `values`; `None` when empty.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    Some(sorted[rank - 1])
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(values: &[f64]) -> Option<Self> {
        Some(Self {
            n: values.len(),
            p50: percentile(values, 0.50)?,
            p90: percentile(values, 0.90)?,
            p99: percentile(values, 0.99)?,
            max: percentile(values, 1.0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), Some(10.0));
        assert_eq!(percentile(&values, 0.9), Some(18.0));
        assert_eq!(percentile(&values, 0.99), Some(20.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(percentile(&[], 0.5), None);
        let s = Summary::of(&[5.0]).unwrap();
        assert_eq!((s.p50, s.max), (5.0, 5.0));
    }
}
