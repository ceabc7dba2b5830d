//! What `/metrics` shows about the assistant.

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::Assistant;
use crate::server::metrics::{Counters, Histogram};

/// The assistant's figures, shared by every answer.
pub struct AssistantMetrics {
    pub generation: Histogram,
    pub first_token: Histogram,
    pub tokens: Counter,
    /// Milli-tokens per second of the last answer.
    pub last_rate_milli: AtomicU64,
    pub failures: Counters,
    pub answers: Counter,
    /// Questions the help center had nothing about.
    pub unknown: Counter,
}

impl Default for AssistantMetrics {
    fn default() -> Self {
        Self {
            generation: Histogram::default(),
            first_token: Histogram::default(),
            tokens: Counter::default(),
            last_rate_milli: AtomicU64::new(0),
            failures: Counters::new("cause"),
            answers: Counter::default(),
            unknown: Counter::default(),
        }
    }
}

impl Assistant {
    /// Adds the assistant's metrics to a scrape.
    pub fn register_metrics(&self, r: &mut Registry) {
        let m = &self.metrics;
        r.register(
            "minicom_assistant_queue_depth",
            "Answers waiting for or in generation",
            ConstGauge::new(self.queue_depth() as i64),
        );
        r.register(
            "minicom_assistant_generation_seconds",
            "Time to generate one answer",
            m.generation.clone(),
        );
        r.register(
            "minicom_assistant_first_token_seconds",
            "Time to the first token of an answer",
            m.first_token.clone(),
        );
        r.register(
            "minicom_assistant_tokens",
            "Tokens generated",
            m.tokens.clone(),
        );
        r.register(
            "minicom_assistant_tokens_per_second",
            "Generation speed of the last answer",
            ConstGauge::new(m.last_rate_milli.load(Ordering::Relaxed) as f64 / 1000.0),
        );
        r.register(
            "minicom_assistant_answers",
            "Answers stored",
            m.answers.clone(),
        );
        r.register(
            "minicom_assistant_unknown",
            "Questions the help center had nothing about (answered with I don't know)",
            m.unknown.clone(),
        );
        m.failures.register(
            r,
            "minicom_assistant_failures",
            "Answers that became the fallback line, by cause",
        );
    }
}
