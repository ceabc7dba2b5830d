//! What `/metrics` reports, encoded by `prometheus-client` in the
//! OpenMetrics text format (which Prometheus reads; the sample names are
//! those of the plain text format it replaced).
//!
//! The hot path costs what it did before the crate: counters are the
//! crate's `Counter` (an atomic), labelled ones and latency histograms are
//! our own (a short lock; fixed atomic buckets), because the crate's
//! `Family` and `Histogram` cost more per increment or take a lock on every
//! observation. Figures that live elsewhere (open sockets, memory, the
//! age of the last backup) are read only when someone scrapes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

/// Upper bounds of the latency buckets, in seconds: 50 µs to 10 s.
const BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 10.0,
];

/// A latency histogram with fixed buckets; clones share the counts.
#[derive(Clone, Default, Debug)]
pub struct Histogram(Arc<Buckets>);

#[derive(Default, Debug)]
struct Buckets {
    /// Observations per bucket (not cumulative); the last slot is `+Inf`.
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS.len());
        self.0.counts[slot].fetch_add(1, Ordering::Relaxed);
        self.0
            .sum_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }

    fn encode_into(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        let mut buckets = [(f64::INFINITY, 0); BUCKETS.len() + 1];
        for ((bucket, bound), count) in buckets.iter_mut().zip(BUCKETS).zip(&self.0.counts) {
            *bucket = (bound, count.load(Ordering::Relaxed));
        }
        buckets[BUCKETS.len()].1 = self.0.counts[BUCKETS.len()].load(Ordering::Relaxed);
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }
}

impl EncodeMetric for Histogram {
    fn encode(&self, encoder: MetricEncoder) -> std::fmt::Result {
        self.encode_into(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// A label set of one label: its key and value.
type Label = [(&'static str, &'static str); 1];

/// Histograms told apart by one label (the database's queries).
#[derive(Debug)]
struct Histograms(Vec<(Label, Histogram)>);

impl EncodeMetric for Histograms {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        for (label, histogram) in &self.0 {
            histogram.encode_into(encoder.encode_family(label)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Counters keyed by one label (a frame type, a reason): the key is fixed,
/// values appear as they are first counted. A lock and a small ordered map
/// rather than the crate's `Family`, whose hashing and shared read lock
/// took 20–50 ns more per increment here (docs/performance.md).
#[derive(Debug)]
pub struct Counters {
    key: &'static str,
    counts: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl Counters {
    pub fn new(key: &'static str) -> Self {
        Self {
            key,
            counts: Arc::default(),
        }
    }

    pub fn add(&self, value: &'static str, n: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry(value).or_default() += n;
    }

    pub(crate) fn register(&self, registry: &mut Registry, name: &str, help: &str) {
        registry.register(
            name,
            help,
            Counters {
                key: self.key,
                counts: self.counts.clone(),
            },
        );
    }
}

impl EncodeMetric for Counters {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        let counts: Vec<(&'static str, u64)> = {
            let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            counts.iter().map(|(&value, &n)| (value, n)).collect()
        };
        for (value, n) in counts {
            encoder
                .encode_family(&[(self.key, value)])?
                .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// Everything the server counts.
pub struct Metrics {
    /// Frames read from sockets, by type (`invalid` when undecodable).
    pub frames_in: Counters,
    /// Frames queued to sockets, by type (one per recipient).
    pub frames_out: Counters,
    /// Messages committed to the database.
    pub messages_stored: Counter,
    /// From reading a `send` frame to handing the message to its recipients'
    /// queues (validation, commit, ack, publish, fan-out).
    pub fanout: Histogram,
    /// How long publishing one event on the bus took.
    pub bus_publish: Histogram,
    /// Database latency: a group commit of message writes (shared with the
    /// store's writer, which records it).
    pub db_commit: Histogram,
    /// Database latency: loading a socket's first page of conversations.
    pub db_hello: Histogram,
    /// Database latency: loading a page of a conversation's messages.
    pub db_history: Histogram,
    /// Frames dropped because a socket's queue was full (the socket is then
    /// closed so it can resume).
    pub queue_drops: Counter,
    /// Events the hub missed because it fell behind the bus (every socket
    /// was then closed to resume).
    pub hub_lagged: Counter,
    /// New visitors refused because their address made too many this hour.
    pub visitors_refused: Counter,
    /// Frames refused by the rate limits, by what was limited.
    pub rate_limited: Counters,
    /// Socket upgrades refused, by reason.
    pub sockets_refused: Counters,
    /// Whether backups run on a schedule (their metrics are shown then).
    pub backups_scheduled: AtomicBool,
    /// When the newest good scheduled backup was taken (ms since the Unix
    /// epoch; 0: none yet).
    pub backup_last_good_ms: AtomicI64,
    /// Scheduled backups that failed.
    pub backup_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            frames_in: Counters::new("type"),
            frames_out: Counters::new("type"),
            messages_stored: Counter::default(),
            fanout: Histogram::default(),
            bus_publish: Histogram::default(),
            db_commit: Histogram::default(),
            db_hello: Histogram::default(),
            db_history: Histogram::default(),
            queue_drops: Counter::default(),
            hub_lagged: Counter::default(),
            visitors_refused: Counter::default(),
            rate_limited: Counters::new("limit"),
            sockets_refused: Counters::new("reason"),
            backups_scheduled: AtomicBool::new(false),
            backup_last_good_ms: AtomicI64::new(0),
            backup_failures: Counter::default(),
        }
    }
}

/// Numbers read when rendering, from outside the counters.
pub struct Gauges {
    pub visitor_sockets: usize,
    pub agent_sockets: usize,
    pub socket_budget: usize,
}

impl Metrics {
    /// A registry of every metric as it stands now; others (the assistant)
    /// may add theirs before it is [`encode`]d. Made per scrape: it holds
    /// handles to the live counters, and the gauges read at this moment.
    pub fn registry(&self, gauges: &Gauges) -> Registry {
        let mut r = Registry::default();
        let sockets = Family::<Label, Gauge>::default();
        for (kind, open) in [
            ("visitor", gauges.visitor_sockets),
            ("agent", gauges.agent_sockets),
        ] {
            sockets.get_or_create(&[("kind", kind)]).set(open as i64);
        }
        r.register("minicom_sockets_open", "Open WebSockets by kind", sockets);
        r.register(
            "minicom_socket_budget",
            "Sockets this process accepts before refusing new ones (from its file limit)",
            ConstGauge::new(gauges.socket_budget as i64),
        );
        self.sockets_refused.register(
            &mut r,
            "minicom_sockets_refused",
            "Socket upgrades refused, by reason",
        );
        self.frames_in.register(
            &mut r,
            "minicom_frames_in",
            "Frames received from sockets, by type",
        );
        self.frames_out.register(
            &mut r,
            "minicom_frames_out",
            "Frames queued to sockets, by type (one per recipient)",
        );
        r.register(
            "minicom_messages_stored",
            "Messages committed to the database",
            self.messages_stored.clone(),
        );
        r.register(
            "minicom_queue_drops",
            "Frames dropped because a socket's outgoing queue was full (presence and typing are skipped; otherwise the socket is closed to resume)",
            self.queue_drops.clone(),
        );
        r.register(
            "minicom_hub_lagged_events",
            "Events the hub missed because it fell behind the bus (every socket was closed to resume)",
            self.hub_lagged.clone(),
        );
        r.register(
            "minicom_new_visitors_refused",
            "New visitors refused because their address started too many this hour",
            self.visitors_refused.clone(),
        );
        self.rate_limited.register(
            &mut r,
            "minicom_rate_limited",
            "Frames refused by the rate limits, by what was limited",
        );
        r.register(
            "minicom_send_fanout_seconds",
            "From reading a send frame to queueing the message for its recipients",
            self.fanout.clone(),
        );
        r.register(
            "minicom_bus_publish_seconds",
            "Time to publish one event on the bus",
            self.bus_publish.clone(),
        );
        r.register(
            "minicom_db_query_seconds",
            "Database latency by query",
            Histograms(vec![
                ([("query", "commit")], self.db_commit.clone()),
                ([("query", "hello")], self.db_hello.clone()),
                ([("query", "history")], self.db_history.clone()),
            ]),
        );
        self.register_backups(&mut r);
        register_process(&mut r);
        r
    }

    /// The scheduled backups: when the last good one was taken and how old
    /// it is (infinite while there is none, so an age alert fires when
    /// backups never worked), and how many failed.
    fn register_backups(&self, r: &mut Registry) {
        if !self.backups_scheduled.load(Ordering::Relaxed) {
            return;
        }
        let last = self.backup_last_good_ms.load(Ordering::Relaxed);
        r.register(
            "minicom_backup_last_success_timestamp_seconds",
            "When the newest good backup was taken (Unix time; 0: none yet)",
            ConstGauge::new(last as f64 / 1e3),
        );
        let age = if last > 0 {
            (crate::server::store::now().0 - last).max(0) as f64 / 1e3
        } else {
            f64::INFINITY
        };
        r.register(
            "minicom_backup_age_seconds",
            "Seconds since the newest good backup was taken (infinite: none yet)",
            ConstGauge::new(age),
        );
        r.register(
            "minicom_backup_failures",
            "Scheduled backups that failed (see the log for why)",
            self.backup_failures.clone(),
        );
    }
}

/// The text a scrape gets, ending with OpenMetrics' `# EOF`.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::with_capacity(8 * 1024);
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

/// The content type of what [`encode`] writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Memory and file descriptors of this process, from `/proc` (Linux only;
/// elsewhere these are left out).
fn register_process(r: &mut Registry) {
    if let Some(bytes) = resident_memory_bytes() {
        let help = "Resident memory size in bytes";
        r.register(
            "process_resident_memory_bytes",
            help,
            ConstGauge::new(bytes),
        );
    }
    if let Some(seconds) = cpu_seconds() {
        let help = "User and system CPU time this process has used, in seconds";
        r.register("process_cpu_seconds", help, ConstCounter::new(seconds));
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        let help = "Open file descriptors (sockets included)";
        r.register(
            "process_open_fds",
            help,
            ConstGauge::new(fds.count() as i64),
        );
    }
    if let Some((soft, _)) = crate::server::fd_limit::current() {
        let help = "The soft limit on open file descriptors";
        r.register("process_max_fds", help, ConstGauge::new(soft));
    }
}

/// User plus system CPU time of this process so far (every thread), in
/// seconds: what `make bench` divides by messages for a cost per message
/// that does not depend on how busy the machine was.
#[cfg(unix)]
pub fn cpu_seconds() -> Option<f64> {
    // SAFETY: an all-zero `rusage` is a valid value, and getrusage only
    // writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0;
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    ok.then(|| seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

#[cfg(not(unix))]
pub fn cpu_seconds() -> Option<f64> {
    None
}

/// This process's resident set size, from `/proc/self/status`.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(name: &str, metric: impl prometheus_client::registry::Metric) -> String {
        let mut r = Registry::default();
        r.register(name, "Help", metric);
        encode(&r)
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(30));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let out = encoded("x_seconds", h);
        assert!(out.contains("# TYPE x_seconds histogram\n"), "{out}");
        assert!(
            out.contains("x_seconds_bucket{le=\"0.00005\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("x_seconds_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"10.0\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_count 3\n"), "{out}");
        assert!(out.ends_with("# EOF\n"), "{out}");
    }

    #[test]
    fn labelled_histograms_keep_their_labels() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(1));
        let out = encoded("db_seconds", Histograms(vec![([("query", "commit")], h)]));
        assert!(
            out.contains("db_seconds_bucket{le=\"0.001\",query=\"commit\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("db_seconds_count{query=\"commit\"} 1\n"),
            "{out}"
        );
    }

    #[test]
    fn counters_keep_their_names_with_total() {
        let frames = Counters::new("type");
        frames.add("send", 2);
        frames.add("send", 1);
        let mut r = Registry::default();
        frames.register(&mut r, "minicom_frames_in", "Frames");
        let out = encode(&r);
        assert!(
            out.contains("minicom_frames_in_total{type=\"send\"} 3\n"),
            "{out}"
        );
    }
}
