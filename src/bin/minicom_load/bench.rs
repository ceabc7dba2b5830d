//! `minicom-load bench`: a fresh server on a temporary database, the standard
//! set of scenarios against it, a table, and `bench/results.json`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::scenarios::{self, Chat, Ctx, Report};
use crate::socket::Target;
use crate::{big, http};

const ADMIN_EMAIL: &str = "bench@minicom.test";
const ADMIN_PASSWORD: &str = "bench-password-not-secret";

/// One target of issue #6 and how this run did against it.
#[derive(Serialize)]
struct Verdict {
    target: &'static str,
    measured: String,
    met: bool,
}

#[derive(Serialize)]
struct Machine {
    cores: usize,
    memory_gib: f64,
    cpu: String,
    fd_limit: Option<(u64, u64)>,
}

#[derive(Serialize)]
struct Results {
    machine: Machine,
    unix_time: u64,
    durability: &'static str,
    runs: Vec<Report>,
    targets: Vec<Verdict>,
}

/// The server's settings for load runs (abuse limits lifted, quiet log),
/// shared with bench/cluster.sh.
fn load_settings() -> impl Iterator<Item = (&'static str, &'static str)> {
    include_str!("../../../bench/limits.env")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
}

/// A folder for one server's database and log, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    /// Under `target/` when run from the project (the big database needs
    /// 4 GiB, more than a memory-backed /tmp may hold), else the temp dir.
    fn new(name: &str) -> anyhow::Result<Self> {
        let base = Path::new("target");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("minicom-bench-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
        Ok(Self(dir))
    }

    fn database(&self) -> PathBuf {
        self.0.join("minicom.db")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server child process that is killed when dropped.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server on the database in `dir`; with `assistant`, the embedded
/// model answers (it must be in data/models: `make setup-model`).
fn start_server(
    binary: &Path,
    dir: &Scratch,
    assistant: bool,
) -> anyhow::Result<(Server, SocketAddr)> {
    if !binary.exists() {
        bail!(
            "no server binary at {} (build it with `cargo build --release --features ssr`, or `make bench` does)",
            binary.display()
        );
    }
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?
    };
    let log = dir.0.join("server.log");
    let child = Command::new(binary)
        .env("MINICOM_ADDR", addr.to_string())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.database().display()),
        )
        .env("MINICOM_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("MINICOM_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env(
            "MINICOM_ASSISTANT",
            if assistant { "embedded" } else { "off" },
        )
        .envs(load_settings())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .with_context(|| format!("could not start {}", binary.display()))?;
    Ok((Server { child, log }, addr))
}

async fn wait_ready(target: &Target, server: &mut Server) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait()? {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            bail!("the server exited ({status}) before it was ready:\n{log}");
        }
        if matches!(http::get(target, "/readyz").await, Ok((200, _))) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server was not ready within 60 s")
}

pub async fn run(binary: &Path, out: &Path, sources: usize, stored: u64) -> anyhow::Result<()> {
    let empty = Scratch::new("empty")?;
    let (mut server, addr) = start_server(binary, &empty, false)?;
    let target = Target::new(addr, crate::sources(sources))?;
    wait_ready(&target, &mut server).await?;
    let ctx = Ctx {
        target,
        admin_email: ADMIN_EMAIL.into(),
        admin_password: ADMIN_PASSWORD.into(),
    };
    println!("minicom-load bench: server {addr}, standard set (about 6 minutes)");
    let mut runs = Vec::new();
    let chat_max = Chat {
        pairs: 50,
        agents: 2,
        rate: 0.0,
        duration: Duration::from_secs(15),
        window: 8,
        inbox_only: false,
    };
    let steps: Vec<(&str, Chat)> = vec![
        ("chat-max", chat_max),
        (
            "chat-1",
            Chat {
                window: 1,
                ..chat_max
            },
        ),
        (
            "chat-100",
            Chat {
                rate: 100.0,
                ..chat_max
            },
        ),
        (
            "chat-5k",
            Chat {
                pairs: 100,
                agents: 4,
                rate: 5_000.0,
                ..chat_max
            },
        ),
        (
            "inbox",
            Chat {
                pairs: 200,
                agents: 10,
                rate: 500.0,
                duration: Duration::from_secs(10),
                inbox_only: true,
                ..chat_max
            },
        ),
        (
            "fanout",
            Chat {
                pairs: 200,
                agents: 100,
                rate: 1_000.0,
                duration: Duration::from_secs(10),
                inbox_only: true,
                ..chat_max
            },
        ),
    ];
    for (name, chat) in steps {
        println!("  {name} …");
        runs.push(scenarios::chat(&ctx, chat, name).await?);
    }
    println!("  history (10,000 messages, 10,000 conversations) …");
    runs.push(scenarios::history(&ctx, 10_000, 10_000, 20).await?);
    println!("  idle (18,000 sockets) …");
    runs.push(scenarios::idle(&ctx, 18_000, Duration::from_secs(10)).await?);
    println!("  mix (2,000 idle + conversations at 2,000/s; the idle leave halfway) …");
    runs.push(
        scenarios::mix(
            &ctx,
            2_000,
            Chat {
                pairs: 50,
                agents: 2,
                rate: 2_000.0,
                // The idle leave at 6 s; their offline writes follow the
                // 4 s presence grace, well inside the run.
                duration: Duration::from_secs(12),
                ..chat_max
            },
        )
        .await?,
    );
    drop(server);
    drop(empty);

    if stored > 0 {
        runs.push(on_big_database(binary, &ctx, chat_max, stored).await?);
    }

    println!("  assistant (conversations at 1,000/s; then 8 visitors keep the model busy) …");
    let ai = Scratch::new("assistant")?;
    let (mut server, addr) = start_server(binary, &ai, true)?;
    let target = Target::new(addr, crate::sources(sources))?;
    wait_ready(&target, &mut server).await?;
    let ai_ctx = Ctx { target, ..ctx };
    runs.push(
        scenarios::assistant(
            &ai_ctx,
            Chat {
                pairs: 50,
                agents: 2,
                rate: 1_000.0,
                duration: Duration::from_secs(30),
                ..chat_max
            },
            8,
        )
        .await?,
    );
    drop(server);

    drop(ai);

    let targets = verdicts(&runs);
    let results = Results {
        machine: machine(),
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        durability: "full (MINICOM_SQLITE_SYNCHRONOUS default)",
        runs,
        targets,
    };
    crate::print_table(&results.runs);
    println!(
        "\nTargets (issues #6 and #20), this machine: {} cores, {:.0} GiB",
        results.machine.cores, results.machine.memory_gib
    );
    for v in &results.targets {
        println!(
            "  {} {:<55} {}",
            if v.met { "met   " } else { "MISSED" },
            v.target,
            v.measured
        );
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, serde_json::to_string_pretty(&results)?)
        .with_context(|| format!("could not write {}", out.display()))?;
    println!("\nwrote {}", out.display());
    Ok(())
}

/// chat-max again on a database that already holds `stored` messages
/// (ten per conversation), written by [`big::fill`] between a first start
/// (which creates the schema and the admin) and a second.
async fn on_big_database(
    binary: &Path,
    ctx: &Ctx,
    chat: Chat,
    stored: u64,
) -> anyhow::Result<Report> {
    let conversations = (stored / 10).max(1) as i64;
    println!(
        "  chat-max on {stored} stored messages (writing them first: about {} min) …",
        (stored / 3_300_000).max(1)
    );
    let dir = Scratch::new("big")?;
    let (mut server, addr) = start_server(binary, &dir, false)?;
    wait_ready(&Target::new(addr, ctx.target.sources.clone())?, &mut server).await?;
    drop(server);
    let filled_in = big::fill(&dir.database(), conversations, 10).await?;
    let bytes = std::fs::metadata(dir.database()).map_or(0, |m| m.len());
    let started = Instant::now();
    let (mut server, addr) = start_server(binary, &dir, false)?;
    let target = Target::new(addr, ctx.target.sources.clone())?;
    wait_ready(&target, &mut server).await?;
    let ready_in = started.elapsed();
    let big_ctx = Ctx {
        target,
        ..ctx.clone()
    };
    let mut report = scenarios::chat(&big_ctx, chat, "chat-max-big").await?;
    report.notes.insert(
        "stored".into(),
        format!(
            "{} messages in {conversations} conversations, {:.1} GiB, written in {:.0} s; the server was ready {:.1} s after starting",
            conversations * 10,
            bytes as f64 / (1u64 << 30) as f64,
            filled_in.as_secs_f64(),
            ready_in.as_secs_f64()
        ),
    );
    Ok(report)
}

/// The targets of issues #6 and #20, and how this run did against each.
fn verdicts(runs: &[Report]) -> Vec<Verdict> {
    let find = |name: &str| runs.iter().find(|r| r.scenario == name);
    let mut out = Vec::new();
    let mut chat = |name: &str, target: &'static str, min_per_s: f64, max_p99_ms: f64| {
        if let Some(r) = find(name) {
            // Errors of any kind, or messages never acknowledged after the
            // drain (the window's own counts include what was in flight).
            let clean = r.errors.is_empty() && !r.notes.contains_key("unacked_after_drain");
            out.push(Verdict {
                target,
                measured: format!(
                    "{:.0} acked/s, {:.0} delivered/s, p99 {:.2} ms, {} µs CPU/msg",
                    r.acked_per_s,
                    r.delivered_per_s,
                    r.latency.p99_ms,
                    r.server_cpu_us_per_message
                        .map_or("-".into(), |us| format!("{us:.0}"))
                ),
                met: r.acked_per_s >= min_per_s && r.latency.p99_ms <= max_p99_ms && clean,
            });
        }
    };
    chat(
        "chat-max",
        "chat-max: ≥ 25,000 acked = delivered messages/s",
        25_000.0,
        f64::INFINITY,
    );
    chat(
        "chat-1",
        "one in flight per conversation: ≥ 12,000/s, p99 ≤ 8 ms",
        12_000.0,
        8.0,
    );
    chat("chat-100", "open loop 100 msg/s: p99 ≤ 1.5 ms", 99.0, 1.5);
    chat(
        "chat-5k",
        "open loop 5,000 msg/s: p99 ≤ 10 ms, no backlog",
        4_950.0,
        10.0,
    );
    chat(
        "mix",
        "mix (2,000 idle leave halfway): 2,000/s, p99 ≤ 20 ms",
        1_980.0,
        20.0,
    );
    chat(
        "fanout",
        "100 agents get every row at 1,000 msg/s: p99 ≤ 20 ms",
        990.0,
        20.0,
    );
    if let (Some(empty), Some(big)) = (find("chat-max"), find("chat-max-big")) {
        out.push(Verdict {
            target: "chat-max on the big database: within 20% of the empty one",
            measured: format!(
                "{:.0} acked/s ({}), empty {:.0}/s",
                big.acked_per_s,
                big.notes.get("stored").map_or("", String::as_str),
                empty.acked_per_s
            ),
            met: big.acked_per_s >= 0.8 * empty.acked_per_s && big.errors.is_empty(),
        });
    }
    if let Some(r) = find("idle") {
        let per = r.rss_per_connection_bytes.unwrap_or(f64::MAX);
        out.push(Verdict {
            target: "≥ 18,000 idle sockets, ≤ 16 KiB server memory each",
            measured: format!("{} held, {:.1} KiB each", r.connections, per / 1024.0),
            met: r.connections >= 18_000 && per <= 16.0 * 1024.0,
        });
    }
    if let Some(r) = find("assistant")
        && let (Some(before), Some(during)) =
            (r.timings.get("first_half"), r.timings.get("second_half"))
    {
        out.push(Verdict {
            target: "p99 of ordinary messages flat (± 2 ms) while 8 answers generate",
            measured: format!(
                "p99 {:.2} ms before, {:.2} ms during",
                before.p99_ms, during.p99_ms
            ),
            met: during.p99_ms <= before.p99_ms + 2.0,
        });
    }
    if let Some(r) = find("history") {
        for (key, label) in [
            (
                "open_newest_of_10000",
                "open a 10,000-message conversation ≤ 50 ms (p99)",
            ),
            (
                "agent_hello_inbox_of_10000",
                "open a 10,000-conversation inbox ≤ 50 ms (p99)",
            ),
        ] {
            if let Some(p) = r.timings.get(key) {
                out.push(Verdict {
                    target: label,
                    measured: format!("p50 {:.2} ms, p99 {:.2} ms", p.p50_ms, p.p99_ms),
                    met: p.count > 0 && p.p99_ms <= 50.0,
                });
            }
        }
    }
    out
}

fn machine() -> Machine {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".into(), |m| m.trim().to_owned());
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: kib / 1024.0 / 1024.0,
        cpu,
        fd_limit: minicom::server::fd_limit::current(),
    }
}
