//! What `/metrics` reports, in Prometheus' text format.
//!
//! Plain atomics updated on the hot path (no allocation, no lock for the
//! histograms); rendering happens only when someone scrapes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds: 50 µs to 10 s.
const BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub struct Histogram {
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
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }

    pub(crate) fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        let sep = if labels.is_empty() { "" } else { "," };
        for (slot, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let le = BUCKETS
                .get(slot)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Counters keyed by one label value (a frame type, a reason).
#[derive(Default)]
pub struct Counters(Mutex<BTreeMap<&'static str, u64>>);

impl Counters {
    pub fn add(&self, label: &'static str, n: u64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry(label).or_default() += n;
    }

    pub(crate) fn render(&self, out: &mut String, name: &str, label: &str) {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for (value, count) in map.iter() {
            let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {count}");
        }
    }
}

/// Everything the server counts.
#[derive(Default)]
pub struct Metrics {
    /// Frames read from sockets, by type (`invalid` when undecodable).
    pub frames_in: Counters,
    /// Frames queued to sockets, by type (one per recipient).
    pub frames_out: Counters,
    /// Messages committed to the database.
    pub messages_stored: AtomicU64,
    /// From reading a `send` frame to handing the message to its recipients'
    /// queues (validation, commit, ack, publish, fan-out).
    pub fanout: Histogram,
    /// How long publishing one event on the bus took.
    pub bus_publish: Histogram,
    /// Database latency: a group commit of message writes (shared with the
    /// store's writer, which records it).
    pub db_commit: std::sync::Arc<Histogram>,
    /// Database latency: loading a socket's first page of conversations.
    pub db_hello: Histogram,
    /// Database latency: loading a page of a conversation's messages.
    pub db_history: Histogram,
    /// Frames dropped because a socket's queue was full (the socket is then
    /// closed so it can resume).
    pub queue_drops: AtomicU64,
    /// Events the hub missed because it fell behind the bus (every socket
    /// was then closed to resume).
    pub hub_lagged: AtomicU64,
    /// New visitors refused because their address made too many this hour.
    pub visitors_refused: AtomicU64,
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
    pub backup_failures: AtomicU64,
}

/// Numbers read when rendering, from outside the counters.
pub struct Gauges {
    pub visitor_sockets: usize,
    pub agent_sockets: usize,
    pub socket_budget: usize,
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(
            &mut out,
            "minicom_sockets_open",
            "gauge",
            "Open WebSockets by kind.",
        );
        let _ = writeln!(
            out,
            "minicom_sockets_open{{kind=\"visitor\"}} {}\nminicom_sockets_open{{kind=\"agent\"}} {}",
            gauges.visitor_sockets, gauges.agent_sockets
        );
        single(
            &mut out,
            "minicom_socket_budget",
            "gauge",
            "Sockets this process accepts before refusing new ones (from its file limit).",
            gauges.socket_budget,
        );
        head(
            &mut out,
            "minicom_sockets_refused_total",
            "counter",
            "Socket upgrades refused, by reason.",
        );
        self.sockets_refused
            .render(&mut out, "minicom_sockets_refused_total", "reason");
        head(
            &mut out,
            "minicom_frames_in_total",
            "counter",
            "Frames received from sockets, by type.",
        );
        self.frames_in
            .render(&mut out, "minicom_frames_in_total", "type");
        head(
            &mut out,
            "minicom_frames_out_total",
            "counter",
            "Frames queued to sockets, by type (one per recipient).",
        );
        self.frames_out
            .render(&mut out, "minicom_frames_out_total", "type");
        single(
            &mut out,
            "minicom_messages_stored_total",
            "counter",
            "Messages committed to the database.",
            self.messages_stored.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "minicom_queue_drops_total",
            "counter",
            "Frames dropped because a socket's outgoing queue was full (presence and typing are skipped; otherwise the socket is closed to resume).",
            self.queue_drops.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "minicom_hub_lagged_events_total",
            "counter",
            "Events the hub missed because it fell behind the bus (every socket was closed to resume).",
            self.hub_lagged.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "minicom_new_visitors_refused_total",
            "counter",
            "New visitors refused because their address started too many this hour.",
            self.visitors_refused.load(Ordering::Relaxed),
        );
        head(
            &mut out,
            "minicom_rate_limited_total",
            "counter",
            "Frames refused by the rate limits, by what was limited.",
        );
        self.rate_limited
            .render(&mut out, "minicom_rate_limited_total", "limit");
        head(
            &mut out,
            "minicom_send_fanout_seconds",
            "histogram",
            "From reading a send frame to queueing the message for its recipients.",
        );
        self.fanout
            .render(&mut out, "minicom_send_fanout_seconds", "");
        head(
            &mut out,
            "minicom_bus_publish_seconds",
            "histogram",
            "Time to publish one event on the bus.",
        );
        self.bus_publish
            .render(&mut out, "minicom_bus_publish_seconds", "");
        head(
            &mut out,
            "minicom_db_query_seconds",
            "histogram",
            "Database latency by query.",
        );
        for (query, histogram) in [
            ("commit", &*self.db_commit),
            ("hello", &self.db_hello),
            ("history", &self.db_history),
        ] {
            histogram.render(
                &mut out,
                "minicom_db_query_seconds",
                &format!("query=\"{query}\""),
            );
        }
        self.render_backups(&mut out);
        render_process(&mut out);
        out
    }

    /// The scheduled backups: when the last good one was taken and how old
    /// it is (`+Inf` while there is none, so an age alert fires when
    /// backups never worked), and how many failed.
    fn render_backups(&self, out: &mut String) {
        if !self.backups_scheduled.load(Ordering::Relaxed) {
            return;
        }
        let last = self.backup_last_good_ms.load(Ordering::Relaxed);
        single(
            out,
            "minicom_backup_last_success_timestamp_seconds",
            "gauge",
            "When the newest good backup was taken (Unix time; 0: none yet).",
            last as f64 / 1e3,
        );
        let age = if last > 0 {
            ((crate::server::store::now().0 - last).max(0) as f64 / 1e3).to_string()
        } else {
            "+Inf".to_owned()
        };
        single(
            out,
            "minicom_backup_age_seconds",
            "gauge",
            "Seconds since the newest good backup was taken (+Inf: none yet).",
            age,
        );
        single(
            out,
            "minicom_backup_failures_total",
            "counter",
            "Scheduled backups that failed (see the log for why).",
            self.backup_failures.load(Ordering::Relaxed),
        );
    }
}

/// One unlabelled sample with its help and type lines.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// Memory and file descriptors of this process, from `/proc` (Linux only;
/// elsewhere these lines are left out).
fn render_process(out: &mut String) {
    if let Some(bytes) = resident_memory_bytes() {
        let help = "Resident memory size in bytes.";
        single(out, "process_resident_memory_bytes", "gauge", help, bytes);
    }
    if let Some(seconds) = cpu_seconds() {
        let help = "User and system CPU time this process has used, in seconds.";
        single(out, "process_cpu_seconds_total", "counter", help, seconds);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        let help = "Open file descriptors (sockets included).";
        single(out, "process_open_fds", "gauge", help, fds.count());
    }
    if let Some((soft, _)) = crate::server::fd_limit::current() {
        let help = "The soft limit on open file descriptors.";
        single(out, "process_max_fds", "gauge", help, soft);
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

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(30));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "");
        assert!(
            out.contains("x_seconds_bucket{le=\"0.00005\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("x_seconds_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_count 3\n"), "{out}");
    }

    #[test]
    fn labelled_histograms_keep_their_labels() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(1));
        let mut out = String::new();
        h.render(&mut out, "db_seconds", "query=\"commit\"");
        assert!(out.contains("db_seconds_bucket{query=\"commit\",le=\"0.001\"} 1\n"));
        assert!(out.contains("db_seconds_count{query=\"commit\"} 1\n"));
    }
}
