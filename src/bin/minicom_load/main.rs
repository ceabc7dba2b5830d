//! `minicom-load`: drives a Minicom server from the outside, the way browsers
//! do, and reports what an operator wants to know. Loopback only; every run
//! is bounded in connections and time.

mod bench;
mod big;
mod eval;
mod http;
mod scenarios;
mod socket;
mod stats;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::scenarios::{Chat, Ctx, Report};
use crate::socket::Target;

const HELP: &str = "\
minicom-load — load generator for Minicom (loopback only)

USAGE: minicom-load <scenario> [options]

Scenarios:
  idle      open --connections visitor sockets and hold them --hold seconds
  chat      --pairs conversations, a visitor and an agent socket each side,
            both sending at --rate messages/s in total (0 = as fast as possible)
  inbox     --agents watching the inbox while --pairs visitors write at --rate
  history   a conversation of --messages in an inbox of --conversations, then
            --opens timed opens of each
  mix       --connections idle sockets held while `chat` runs
  assistant `chat` at --rate; halfway through the assistant is switched on and
            --generating visitors keep it busy: latency before and during
  bench     start a fresh server (--server-bin), run the standard set (about
            4 minutes), print a table and write --out (bench/results.json)
  eval      (no server) the assistant on the help center evaluation set
            (--fixture): retrieval, faithfulness, I-don't-know, timings

Options (defaults in brackets):
  --server ADDR          server address, loopback only          [127.0.0.1:3000]
  --admin-email EMAIL    agent account to sign in with           [$MINICOM_ADMIN_EMAIL or admin@example.com]
  --admin-password PW    its password                            [$MINICOM_ADMIN_PASSWORD]
  --sources N            spread connections over 127.0.0.1..N    [16]
  --connections N        idle/mix sockets                        [1000]
  --hold S               idle: seconds to hold                   [10]
  --pairs K              conversations                           [50]
  --agents A             agent sockets                           [chat 2, inbox 10]
  --rate R               messages/s in total, 0 = max            [0]
  --duration S           seconds of sending                      [15]
  --window W             unacknowledged messages per sender      [8]
  --messages M           history: messages in the long one       [10000]
  --conversations C      history: conversations in the inbox     [10000]
  --opens N              history: timed opens                    [20]
  --generating N         assistant: visitors keeping it busy     [8]
  --json FILE            also write the report as JSON
  --server-bin PATH      bench: the server binary                [target/release/minicom]
  --out FILE             bench: results file                     [bench/results.json]
  --stored N             bench: messages stored for chat-max on a
                         big database (0 skips it)               [10000000]
  --fixture DIR          eval: articles/ and questions.json      [tests/fixtures/help]
  --model FILE           eval: the GGUF model                    [$MINICOM_ASSISTANT_MODEL or the default]
  --verbose              eval: every question, answer and verdict

The server must lift its abuse limits for the generator (one client sending
for thousands): see MINICOM_LIMIT_* in `minicom --help`; `bench` does it.
";

/// Hard upper bounds, whatever the flags say.
const MAX_CONNECTIONS: usize = 100_000;
const MAX_SECONDS: u64 = 600;

#[derive(Debug)]
struct Options {
    scenario: String,
    server: SocketAddr,
    admin_email: String,
    admin_password: String,
    sources: usize,
    connections: usize,
    hold: u64,
    pairs: usize,
    agents: Option<usize>,
    rate: f64,
    duration: u64,
    window: usize,
    messages: usize,
    conversations: usize,
    opens: usize,
    generating: usize,
    json: Option<PathBuf>,
    server_bin: PathBuf,
    out: PathBuf,
    stored: u64,
    fixture: PathBuf,
    model: PathBuf,
    verbose: bool,
}

fn parse(args: Vec<String>) -> anyhow::Result<Option<Options>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut args = args.into_iter();
    let Some(scenario) = args.next().filter(|a| !a.starts_with('-')) else {
        return Ok(None);
    };
    let mut o = Options {
        scenario,
        server: "127.0.0.1:3000".parse()?,
        admin_email: env("MINICOM_ADMIN_EMAIL").unwrap_or_else(|| "admin@example.com".into()),
        admin_password: env("MINICOM_ADMIN_PASSWORD").unwrap_or_default(),
        sources: 16,
        connections: 1_000,
        hold: 10,
        pairs: 50,
        agents: None,
        rate: 0.0,
        duration: 15,
        window: 8,
        messages: 10_000,
        conversations: 10_000,
        opens: 20,
        generating: 8,
        json: None,
        server_bin: "target/release/minicom".into(),
        out: "bench/results.json".into(),
        stored: 10_000_000,
        fixture: "tests/fixtures/help".into(),
        model: env("MINICOM_ASSISTANT_MODEL")
            .unwrap_or_else(|| minicom::server::config::DEFAULT_MODEL.into())
            .into(),
        verbose: false,
    };
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        if flag == "--verbose" {
            o.verbose = true;
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let number = |v: &str| -> anyhow::Result<u64> {
            v.parse()
                .with_context(|| format!("{flag} takes a whole number, got {v:?}"))
        };
        match flag.as_str() {
            "--server" => {
                o.server = value
                    .parse()
                    .with_context(|| format!("--server takes HOST:PORT, got {value:?}"))?
            }
            "--admin-email" => o.admin_email = value,
            "--admin-password" => o.admin_password = value,
            "--sources" => o.sources = number(&value)?.clamp(1, 250) as usize,
            "--connections" => o.connections = number(&value)? as usize,
            "--hold" => o.hold = number(&value)?,
            "--pairs" => o.pairs = number(&value)? as usize,
            "--agents" => o.agents = Some(number(&value)? as usize),
            "--rate" => {
                o.rate = value
                    .parse()
                    .with_context(|| format!("--rate takes a number, got {value:?}"))?
            }
            "--duration" => o.duration = number(&value)?,
            "--window" => o.window = number(&value)?.max(1) as usize,
            "--messages" => o.messages = number(&value)?.max(1) as usize,
            "--conversations" => o.conversations = number(&value)?.max(1) as usize,
            "--opens" => o.opens = number(&value)? as usize,
            "--generating" => o.generating = number(&value)?.min(1_000) as usize,
            "--json" => o.json = Some(value.into()),
            "--server-bin" => o.server_bin = value.into(),
            "--out" => o.out = value.into(),
            "--stored" => o.stored = number(&value)?.min(100_000_000),
            "--fixture" => o.fixture = value.into(),
            "--model" => o.model = value.into(),
            _ => bail!("unknown option {flag:?}; run `minicom-load --help`"),
        }
    }
    if !o.server.ip().is_loopback() {
        bail!(
            "minicom-load only sends traffic to loopback addresses (127.x.x.x), not {}",
            o.server
        );
    }
    let total = o.connections + o.pairs + o.agents.unwrap_or(0) + o.conversations.min(1);
    if total > MAX_CONNECTIONS || o.duration > MAX_SECONDS || o.hold > MAX_SECONDS {
        bail!("runs are bounded: at most {MAX_CONNECTIONS} connections and {MAX_SECONDS} s");
    }
    Ok(Some(o))
}

/// The loopback source addresses 127.0.0.1 … 127.0.0.n.
pub fn sources(n: usize) -> Vec<IpAddr> {
    (1..=n.clamp(1, 250))
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i as u8)))
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(o) = parse(std::env::args().skip(1).collect())? else {
        print!("{HELP}");
        return Ok(());
    };
    // Each connection is a file here too.
    match minicom::server::fd_limit::raise() {
        Ok((_, soft, _)) if (soft as usize) < o.connections + 512 => eprintln!(
            "warning: this process may open {soft} files; {} connections will not all fit. \
             Run several minicom-load processes, or raise `ulimit -n`.",
            o.connections
        ),
        Ok(_) => {}
        Err(err) => eprintln!("warning: could not raise the open-file limit: {err}"),
    }
    if o.scenario == "eval" {
        return eval::run(&o.fixture, &o.model, o.verbose).await;
    }
    if o.scenario == "bench" {
        return bench::run(&o.server_bin, &o.out, o.sources, o.stored).await;
    }
    let ctx = Ctx {
        target: Target::new(o.server, sources(o.sources))?,
        admin_email: o.admin_email.clone(),
        admin_password: o.admin_password.clone(),
    };
    check_server(&o, &ctx.target).await?;
    let chat = |agents_default: usize, inbox_only: bool| Chat {
        pairs: o.pairs,
        agents: o.agents.unwrap_or(agents_default),
        rate: o.rate,
        duration: Duration::from_secs(o.duration),
        window: o.window,
        inbox_only,
    };
    let report = match o.scenario.as_str() {
        "idle" => scenarios::idle(&ctx, o.connections, Duration::from_secs(o.hold)).await?,
        "chat" => scenarios::chat(&ctx, chat(2, false), "chat").await?,
        "inbox" => scenarios::chat(&ctx, chat(10, true), "inbox").await?,
        "history" => scenarios::history(&ctx, o.messages, o.conversations, o.opens).await?,
        "mix" => scenarios::mix(&ctx, o.connections, chat(2, false)).await?,
        "assistant" => scenarios::assistant(&ctx, chat(2, false), o.generating).await?,
        other => bail!("unknown scenario {other:?}; run `minicom-load --help`"),
    };
    print_table(std::slice::from_ref(&report));
    if let Some(path) = &o.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    Ok(())
}

/// Reads the server's `/metrics` first: is it there, and will the sockets fit?
async fn check_server(o: &Options, target: &Target) -> anyhow::Result<()> {
    let (status, text) = http::get(target, "/metrics")
        .await
        .with_context(|| format!("no Minicom server answers at {}", o.server))?;
    if status != 200 {
        bail!("{} answered /metrics with HTTP {status}", o.server);
    }
    let wanted = (o.connections + o.pairs) as f64;
    if let Some(budget) = http::metric(&text, "minicom_socket_budget")
        && budget < wanted
    {
        eprintln!(
            "warning: the server accepts at most {budget} sockets (its open-file limit); \
             this run wants up to {wanted}."
        );
    }
    Ok(())
}

pub fn print_table(reports: &[Report]) {
    println!(
        "\n{:<10} {:>7} {:>9} {:>9} {:>11} {:>8} {:>8} {:>8} {:>8} {:>9} {:>10} {:>10}  errors",
        "scenario",
        "conns",
        "sent/s",
        "acked/s",
        "delivered/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "RSS MiB",
        "KiB/conn",
        "CPU µs/msg"
    );
    for r in reports {
        let errors: Vec<String> = r.errors.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        println!(
            "{:<10} {:>7} {:>9.0} {:>9.0} {:>11.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9} {:>10} {:>10}  {}",
            r.scenario,
            r.connections,
            r.sent_per_s,
            r.acked_per_s,
            r.delivered_per_s,
            r.latency.p50_ms,
            r.latency.p90_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
            r.server_rss_bytes
                .map_or("-".into(), |b| format!("{:.0}", b / 1048576.0)),
            r.rss_per_connection_bytes
                .map_or("-".into(), |b| format!("{:.1}", b / 1024.0)),
            r.server_cpu_us_per_message
                .map_or("-".into(), |us| format!("{us:.0}")),
            if errors.is_empty() {
                "none".into()
            } else {
                errors.join(", ")
            }
        );
        for (name, p) in &r.timings {
            println!(
                "    {name}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} runs)",
                p.p50_ms, p.p90_ms, p.p99_ms, p.max_ms, p.count
            );
        }
        for (name, note) in &r.notes {
            println!("    {name}: {note}");
        }
    }
}
