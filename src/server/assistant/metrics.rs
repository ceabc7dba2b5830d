//! What `/metrics` shows about the assistant.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Assistant;
use crate::server::metrics::{Counters, Histogram};

/// The assistant's figures, shared by every answer.
#[derive(Default)]
pub struct AssistantMetrics {
    pub generation: Histogram,
    pub first_token: Histogram,
    pub tokens: AtomicU64,
    /// Milli-tokens per second of the last answer.
    pub last_rate_milli: AtomicU64,
    pub failures: Counters,
    pub answers: AtomicU64,
    /// Questions the help center had nothing about.
    pub unknown: AtomicU64,
}

impl Assistant {
    /// The assistant's lines of `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let m = &self.metrics;
        let _ = writeln!(
            out,
            "# HELP minicom_assistant_queue_depth Answers waiting for or in generation.\n\
             # TYPE minicom_assistant_queue_depth gauge\nminicom_assistant_queue_depth {}",
            self.queue_depth()
        );
        let _ = writeln!(
            out,
            "# HELP minicom_assistant_generation_seconds Time to generate one answer.\n\
             # TYPE minicom_assistant_generation_seconds histogram"
        );
        m.generation
            .render(out, "minicom_assistant_generation_seconds", "");
        let _ = writeln!(
            out,
            "# HELP minicom_assistant_first_token_seconds Time to the first token of an answer.\n\
             # TYPE minicom_assistant_first_token_seconds histogram"
        );
        m.first_token
            .render(out, "minicom_assistant_first_token_seconds", "");
        let _ = writeln!(
            out,
            "# HELP minicom_assistant_tokens_total Tokens generated.\n\
             # TYPE minicom_assistant_tokens_total counter\nminicom_assistant_tokens_total {}\n\
             # HELP minicom_assistant_tokens_per_second Generation speed of the last answer.\n\
             # TYPE minicom_assistant_tokens_per_second gauge\nminicom_assistant_tokens_per_second {}\n\
             # HELP minicom_assistant_answers_total Answers stored.\n\
             # TYPE minicom_assistant_answers_total counter\nminicom_assistant_answers_total {}\n\
             # HELP minicom_assistant_unknown_total Questions the help center had nothing about (answered \"I don't know\").\n\
             # TYPE minicom_assistant_unknown_total counter\nminicom_assistant_unknown_total {}\n\
             # HELP minicom_assistant_failures_total Answers that became the fallback line, by cause.\n\
             # TYPE minicom_assistant_failures_total counter",
            m.tokens.load(Ordering::Relaxed),
            m.last_rate_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            m.answers.load(Ordering::Relaxed),
            m.unknown.load(Ordering::Relaxed),
        );
        m.failures
            .render(out, "minicom_assistant_failures_total", "cause");
    }
}
