//! What a run counts: messages sent, acknowledged and delivered, latencies,
//! and errors by kind.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;

/// Shared by every connection of a run.
pub struct Stats {
    /// When the run started; message bodies carry microseconds since then.
    pub epoch: Instant,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub delivered: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    /// (received at, ms since `epoch`; latency, µs).
    latencies_us: Mutex<Vec<(u32, u32)>>,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            errors: Mutex::default(),
            latencies_us: Mutex::default(),
        }
    }

    /// A body that says when it was sent.
    pub fn stamp(&self) -> String {
        format!("load {}", self.epoch.elapsed().as_micros())
    }

    /// How long ago a stamped body was sent, in microseconds.
    pub fn age_us(&self, body: &str) -> Option<u32> {
        let sent: u128 = body.strip_prefix("load ")?.trim().parse().ok()?;
        let now = self.epoch.elapsed().as_micros();
        Some(now.saturating_sub(sent).min(u32::MAX as u128) as u32)
    }

    pub fn error(&self, kind: impl Into<String>) {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        *errors.entry(kind.into()).or_default() += 1;
    }

    /// A latency sample taken now.
    pub fn sample(&self, latency_us: u32) -> (u32, u32) {
        (self.epoch.elapsed().as_millis() as u32, latency_us)
    }

    /// Adds one connection's latencies (kept locally while running, so the
    /// hot path takes no lock).
    pub fn add_latencies(&self, batch: &mut Vec<(u32, u32)>) {
        self.latencies_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .append(batch);
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn latency(&self) -> Percentiles {
        self.latency_between(0, u32::MAX)
    }

    /// Percentiles of the samples received between `from` and `to` (ms
    /// since `epoch`).
    pub fn latency_between(&self, from: u32, to: u32) -> Percentiles {
        let mut picked: Vec<u32> = self
            .latencies_us
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(at, _)| (from..to).contains(at))
            .map(|(_, us)| *us)
            .collect();
        Percentiles::of_us(&mut picked)
    }
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of_us(samples: &mut [u32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index] as f64 / 1000.0
        };
        Self {
            count: samples.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: samples[samples.len() - 1] as f64 / 1000.0,
        }
    }

    pub fn of_durations(samples: &[std::time::Duration]) -> Self {
        let mut us: Vec<u32> = samples
            .iter()
            .map(|d| d.as_micros().min(u32::MAX as u128) as u32)
            .collect();
        Self::of_us(&mut us)
    }
}

/// Reads an atomic counter.
pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        let p = Percentiles::of_us(&mut samples);
        assert_eq!(
            (p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms),
            (50.0, 90.0, 99.0, 100.0)
        );
    }

    #[test]
    fn stamped_bodies_give_their_age() {
        let stats = Stats::new();
        let body = stats.stamp();
        assert!(stats.age_us(&body).is_some_and(|age| age < 1_000_000));
        assert_eq!(stats.age_us("hello"), None);
    }
}
