//! Configuration from environment variables and command-line flags (flags win).

use std::net::SocketAddr;

use crate::server::files::FileLimits;
use crate::server::limits::Limits;
use crate::server::store::Durability;

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} must be an address like 127.0.0.1:3000, got {value:?}")]
    BadAddr { name: &'static str, value: String },
    #[error("unknown argument {0:?}; run `minicom --help` for the options")]
    UnknownArg(String),
    #[error("the flag {0} needs a value")]
    MissingValue(String),
    #[error("MINICOM_SQLITE_SYNCHRONOUS must be `full` or `normal`, got {0:?}")]
    BadDurability(String),
    #[error(
        "MINICOM_EDIT_WINDOW_MINUTES must be a whole number of minutes (0 to 10080), got {0:?}"
    )]
    BadEditWindow(String),
    #[error("{0} must be a positive whole number, got {1:?}")]
    BadLimit(&'static str, String),
    #[error("MINICOM_ASSISTANT must be `embedded`, `remote` or `off`, got {0:?}")]
    BadAssistant(String),
    #[error(
        "MINICOM_ASSISTANT=remote needs MINICOM_ASSISTANT_URL (e.g. https://api.example.com/v1)"
    )]
    MissingAssistantUrl,
    #[error("MINICOM_LOG_FORMAT must be `text` or `json`, got {0:?}")]
    BadLogFormat(String),
    #[error(
        "MINICOM_ALLOWED_ORIGINS must list origins like https://shop.example.com (scheme and host, no path), got {0:?}"
    )]
    BadOrigin(String),
    #[error(
        "MINICOM_TRUSTED_PROXIES must list addresses or networks like 127.0.0.1, 10.0.0.0/8 or ::1, got {0:?}"
    )]
    BadProxy(String),
    #[error(
        "DATABASE_URL selects PostgreSQL, which is for several instances, but MINICOM_REDIS_URL is not set: without Redis, instances would not see each other's messages. Set MINICOM_REDIS_URL=redis://host:port, or MINICOM_INSTANCES=1 if this is the only instance"
    )]
    PostgresWithoutRedis,
    #[error("{0}")]
    BadEmail(String),
    #[error("MINICOM_INSTANCES must be a positive whole number, got {0:?}")]
    BadInstances(String),
    #[error("{0}")]
    BadBackup(String),
}

/// The reverse proxies whose `X-Forwarded-Proto` is believed
/// (`MINICOM_TRUSTED_PROXIES`; by default this machine only, where a local
/// nginx or Caddy would connect from). Anyone else could send the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(std::net::IpAddr, u8)>);

impl Default for TrustedProxies {
    fn default() -> Self {
        Self::parse("127.0.0.0/8, ::1").expect("the default list parses")
    }
}

impl TrustedProxies {
    /// A comma-separated list of addresses and `address/prefix` networks.
    pub fn parse(list: &str) -> Result<Self, ConfigError> {
        list.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|item| {
                let bad = || ConfigError::BadProxy(item.to_owned());
                let (ip, prefix) = item.split_once('/').unwrap_or((item, ""));
                let ip: std::net::IpAddr = ip.parse().map_err(|_| bad())?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let prefix = if prefix.is_empty() {
                    max
                } else {
                    prefix.parse().ok().filter(|p| *p <= max).ok_or_else(bad)?
                };
                Ok((ip, prefix))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// The browser's address: `peer` itself, unless `peer` is one of these
    /// proxies; then the nearest `X-Forwarded-For` hop that is not one.
    /// Hops are read from the right, as each proxy appends the address it
    /// heard from: anything left of the first untrusted hop is whatever the
    /// browser chose to write, so it is never believed.
    pub fn client(
        &self,
        peer: std::net::IpAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let listed: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in listed.iter().rev() {
            let Ok(ip) = hop.parse::<std::net::IpAddr>() else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }

    /// Whether `peer` is one of them.
    pub fn contains(&self, peer: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        let peer = match peer {
            V6(v6) => v6.to_ipv4_mapped().map_or(peer, V4),
            v4 => v4,
        };
        self.0.iter().any(|&(net, prefix)| match (net, peer) {
            (V4(n), V4(p)) => {
                prefix == 0 || (n.to_bits() ^ p.to_bits()) >> (32 - u32::from(prefix)) == 0
            }
            (V6(n), V6(p)) => {
                prefix == 0 || (n.to_bits() ^ p.to_bits()) >> (128 - u32::from(prefix)) == 0
            }
            _ => false,
        })
    }
}

/// Which engine the AI assistant runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssistantEngine {
    /// No assistant (`MINICOM_ASSISTANT=off`).
    Off,
    /// A GGUF model run in-process by llama.cpp (`embedded`, the default).
    Embedded { model: std::path::PathBuf },
    /// An OpenAI-compatible endpoint (`remote`).
    Remote {
        url: String,
        model: String,
        api_key: Option<String>,
        /// Certificates to trust besides the public ones (a PEM file).
        ca: Option<std::path::PathBuf>,
    },
}

/// The default model, fetched by `make setup`.
pub const DEFAULT_MODEL: &str = "data/models/SmolLM2-135M-Instruct.Q4_1.gguf";

/// How the AI assistant runs (`MINICOM_ASSISTANT_*`).
#[derive(Clone, Debug)]
pub struct AssistantConfig {
    pub engine: AssistantEngine,
    /// Longest an answer may take before the fallback line (default 20 s).
    pub timeout: std::time::Duration,
    /// Generation threads (default: one per core less one, at least one).
    pub workers: usize,
    /// llama.cpp threads per worker (default 1).
    pub threads: usize,
    /// Requests waiting for a worker before visitors get the fallback at once.
    pub queue: usize,
    /// Context window in tokens (default 2048).
    pub context: u32,
    /// Longest answer in tokens (default 160).
    pub max_reply: u32,
}

impl AssistantConfig {
    /// The assistant switched off (the tests' default).
    pub fn off() -> Self {
        Self {
            engine: AssistantEngine::Off,
            timeout: std::time::Duration::from_secs(20),
            workers: default_workers(),
            threads: 1,
            queue: 16,
            context: 2048,
            max_reply: 160,
        }
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen (`MINICOM_ADDR`, `--addr`).
    pub addr: SocketAddr,
    /// Database location (`DATABASE_URL`, `--database-url`).
    pub database_url: String,
    /// First admin's email (`MINICOM_ADMIN_EMAIL`), used only when no agent exists.
    pub admin_email: String,
    /// First admin's password (`MINICOM_ADMIN_PASSWORD`); generated when unset.
    pub admin_password: Option<String>,
    /// When cookies are `Secure`: always (`MINICOM_SECURE_COOKIES=1`), or
    /// when a trusted proxy (`MINICOM_TRUSTED_PROXIES`) says the browser came
    /// over https.
    pub https: crate::server::auth::Https,
    /// Log filter (`MINICOM_LOG`, e.g. `info` or `minicom=debug`).
    pub log: String,
    /// One JSON object per log line instead of text (`MINICOM_LOG_FORMAT=json`).
    pub log_json: bool,
    /// Most WebSockets at once (`MINICOM_MAX_SOCKETS`); by default what the
    /// open-file limit allows, less a reserve.
    pub max_sockets: Option<usize>,
    /// SQLite's flush per commit (`MINICOM_SQLITE_SYNCHRONOUS=full|normal`).
    pub durability: Durability,
    /// How long after sending people may edit a message
    /// (`MINICOM_EDIT_WINDOW_MINUTES`, default 15).
    pub edit_window_minutes: i64,
    /// Abuse limits (`MINICOM_LIMIT_*`).
    pub limits: Limits,
    /// Files in conversations: where they are kept and how many, how big
    /// (`MINICOM_FILES*`).
    pub files: FilesConfig,
    /// Other sites allowed to embed the messenger and open its socket
    /// (`MINICOM_ALLOWED_ORIGINS`, comma-separated, e.g. `https://shop.example.com`).
    pub allowed_origins: Vec<String>,
    /// Signs verified visitors' `user_id`s (`MINICOM_IDENTITY_SECRET`); when
    /// unset, generated once and kept in the database.
    pub identity_secret: Option<String>,
    /// The Redis bus between instances (`MINICOM_REDIS_URL`); `None`: this
    /// is the only instance and events stay in the process.
    pub redis_url: Option<String>,
    /// The deployment says this is its only instance (`MINICOM_INSTANCES=1`):
    /// PostgreSQL without Redis is then allowed.
    pub single_instance: bool,
    /// Refuse the messenger to visitors the embedding site did not verify
    /// (`MINICOM_REQUIRE_VERIFIED_IDENTITY=1`).
    pub require_verified: bool,
    /// The AI assistant (`MINICOM_ASSISTANT*`).
    pub assistant: AssistantConfig,
    /// Backups on a schedule (`MINICOM_BACKUP_*`); `None`: none.
    pub backup: Option<crate::server::backup::Schedule>,
    /// Resolved conversations quiet for this many days are erased
    /// (`MINICOM_RETENTION_DAYS`); `None`: kept for ever.
    pub retention_days: Option<u32>,
    /// Webhooks: where they may go (`MINICOM_WEBHOOKS_ALLOW_PRIVATE`), and
    /// how they are retried.
    pub webhooks: crate::server::webhooks::Settings,
    /// Email follow-up (`MINICOM_SMTP_URL` and friends); `None`: off.
    pub email: Option<crate::server::email::Settings>,
}

/// The help text for `minicom --help`.
pub const HELP: &str = "\
minicom — real-time customer-support chat

USAGE: minicom [--addr HOST:PORT] [--database-url URL]
       minicom agent add|list|activate|deactivate …   (manage the team; run
       `minicom agent` for details)
       minicom backup --to FILE | restore --from FILE  (the embedded database;
       run `minicom backup` for details)
       minicom contact erase --email EMAIL   (erase a person and all their data)

Environment (flags win over these):
  MINICOM_ADDR            address to listen on            (default 127.0.0.1:3000)
  DATABASE_URL            sqlite://path/to/file.db, or postgres://user:pass@host/db
                          for several instances (default sqlite://data/minicom.db)
  MINICOM_ADMIN_EMAIL     first admin's email             (default admin@example.com)
  MINICOM_ADMIN_PASSWORD  first admin's password          (default: generated and printed once)
  MINICOM_SECURE_COOKIES  1 to mark cookies Secure (https) (default 0)
  MINICOM_LOG             log filter                      (default info)
  MINICOM_LOG_FORMAT      text or json (one object per line) (default text)
  MINICOM_MAX_SOCKETS     most WebSockets at once (default: the open-file
                          limit, raised to its maximum at start, less 256)
  MINICOM_SQLITE_SYNCHRONOUS  full or normal (see README)  (default full)
  MINICOM_EDIT_WINDOW_MINUTES minutes to edit a message    (default 15)
  MINICOM_IDENTITY_SECRET     signs verified visitors' user_id (default: generated
                              once and kept in the database)
  MINICOM_REDIS_URL           redis://host:port: the bus between several
                              instances (default none: one instance)
  MINICOM_INSTANCES           1: PostgreSQL without Redis, as the only instance
  MINICOM_TRUSTED_PROXIES     proxies whose X-Forwarded-For/-Proto are believed,
                              addresses or CIDRs, or none (default 127.0.0.0/8, ::1)
  MINICOM_REQUIRE_VERIFIED_IDENTITY  1: only verified visitors may chat (default 0)
  MINICOM_ALLOWED_ORIGINS     sites that may embed the messenger, comma-separated
                              (e.g. https://shop.example.com; default none)
  MINICOM_LIMIT_SENDS_PER_SECOND   messages per second per socket (default 10)
  MINICOM_LIMIT_SEND_BURST         messages at once per socket    (default 20)
  MINICOM_LIMIT_SENDS_PER_MINUTE   messages per minute per socket (default 100)
  MINICOM_LIMIT_FRAMES_PER_SECOND  frames of any kind per socket  (default 50)
  MINICOM_LIMIT_SOCKETS_PER_PERSON sockets per visitor or agent   (default 20)
  MINICOM_LIMIT_SOCKETS_PER_IP     sockets per client address     (default 200)
  MINICOM_LIMIT_SOCKET_QUEUE_BYTES bytes waiting for one visitor socket before it
                                   is cut off to resume (default 1048576;
                                   agents' sockets 4 times that)
  MINICOM_LIMIT_NEW_VISITORS_PER_IP_HOUR  new visitors per address per hour
                                   (default 300)
  MINICOM_LIMIT_CONVERSATIONS_PER_VISITOR_HOUR  conversations one visitor may
                                   start per hour (default 20)
  MINICOM_LIMIT_API_PER_MINUTE     API requests per minute per token (default 600)
  MINICOM_WEBHOOKS_ALLOW_PRIVATE   1: webhooks may go to private and loopback
                                   addresses (your own network) (default 0)
  MINICOM_SMTP_URL            smtp://user:password@host:587?tls=required (or smtps://): email
                              the team's replies to visitors who left (default off)
  MINICOM_EMAIL_FROM          the sender, e.g. Support <support@example.com>
  MINICOM_PUBLIC_URL          where visitors reach Minicom, for links in emails
  MINICOM_EMAIL_DELAY_SECONDS how long a reply waits for the visitor (default 300)
  MINICOM_FILES               where files are kept: a folder, or `database`
                              (default: data/files beside SQLite; in PostgreSQL)
  MINICOM_FILES_MAX_BYTES     bytes per file                  (default 10485760)
  MINICOM_FILES_PER_MESSAGE   files per message, at most 10   (default 10)
  MINICOM_FILES_PER_MINUTE    uploads per person per minute   (default 20)
  MINICOM_FILES_CONVERSATION_BYTES  bytes kept per conversation
                              (default 209715200)
  MINICOM_BACKUP_DIR          folder for scheduled backups (SQLite; default none)
  MINICOM_BACKUP_EVERY        how often, e.g. 30m, 6h, 1d     (default 1d)
  MINICOM_BACKUP_KEEP         how many to keep, newest first  (default 7)
  MINICOM_RETENTION_DAYS      erase conversations resolved and quiet this many
                              days, and visitors left with none (default: keep)
  MINICOM_ASSISTANT           embedded, remote or off         (default embedded)
  MINICOM_ASSISTANT_MODEL     GGUF file for `embedded`
                              (default data/models/SmolLM2-135M-Instruct.Q4_1.gguf)
  MINICOM_ASSISTANT_URL       OpenAI-compatible endpoint for `remote`
                              (e.g. https://api.example.com/v1)
  MINICOM_ASSISTANT_CA        PEM file of certificates to trust for it,
                              besides the public ones         (default none)
  MINICOM_ASSISTANT_REMOTE_MODEL  model name sent to it      (default default)
  MINICOM_ASSISTANT_API_KEY   bearer token for it             (default none)
  MINICOM_ASSISTANT_TIMEOUT_SECONDS  give up and hand over  (default 20)
  MINICOM_ASSISTANT_WORKERS   generation threads    (default: cores less one, ≥ 1)
  MINICOM_ASSISTANT_THREADS   llama.cpp threads per worker    (default 1)
  MINICOM_ASSISTANT_QUEUE     answers waiting for a worker    (default 16)
";

impl Config {
    /// Whether this configuration may serve: PostgreSQL is for several
    /// instances, and several instances without the Redis bus would each
    /// see only their own visitors' messages live.
    pub fn check_instances(&self, engine: crate::server::store::Engine) -> Result<(), ConfigError> {
        if engine == crate::server::store::Engine::Postgres
            && self.redis_url.is_none()
            && !self.single_instance
        {
            return Err(ConfigError::PostgresWithoutRedis);
        }
        Ok(())
    }

    /// Reads the environment, then applies `args` (without the program name).
    /// Returns `Ok(None)` when `--help` was asked for.
    pub fn load(args: impl IntoIterator<Item = String>) -> Result<Option<Self>, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut addr = env("MINICOM_ADDR")
            .or_else(|| env("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let mut database_url =
            env("DATABASE_URL").unwrap_or_else(|| "sqlite://data/minicom.db".into());
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .ok_or_else(|| ConfigError::MissingValue(flag.to_owned()))
            };
            match arg.as_str() {
                "--help" | "-h" => return Ok(None),
                "--addr" => addr = value("--addr")?,
                "--database-url" => database_url = value("--database-url")?,
                _ => return Err(ConfigError::UnknownArg(arg)),
            }
        }
        Ok(Some(Self {
            addr: addr.parse().map_err(|_| ConfigError::BadAddr {
                name: "MINICOM_ADDR",
                value: addr.clone(),
            })?,
            database_url,
            admin_email: env("MINICOM_ADMIN_EMAIL").unwrap_or_else(|| "admin@example.com".into()),
            admin_password: env("MINICOM_ADMIN_PASSWORD"),
            https: crate::server::auth::Https {
                always: env("MINICOM_SECURE_COOKIES").is_some_and(|v| v == "1" || v == "true"),
                proxies: match env("MINICOM_TRUSTED_PROXIES").as_deref() {
                    None => TrustedProxies::default(),
                    Some("none") => TrustedProxies::parse("")?,
                    Some(list) => TrustedProxies::parse(list)?,
                },
            },
            log: env("MINICOM_LOG").unwrap_or_else(|| "info".into()),
            log_json: match env("MINICOM_LOG_FORMAT").as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => return Err(ConfigError::BadLogFormat(other.to_owned())),
            },
            // Unset: decided by the open-file limit at start.
            max_sockets: match positive("MINICOM_MAX_SOCKETS", 0usize)? {
                0 => None,
                n => Some(n),
            },
            durability: match env("MINICOM_SQLITE_SYNCHRONOUS").as_deref() {
                None | Some("full") => Durability::Full,
                Some("normal") => Durability::Normal,
                Some(other) => return Err(ConfigError::BadDurability(other.to_owned())),
            },
            limits: limits_from_env()?,
            files: files_from_env()?,
            identity_secret: env("MINICOM_IDENTITY_SECRET"),
            redis_url: env("MINICOM_REDIS_URL"),
            single_instance: match env("MINICOM_INSTANCES") {
                None => false,
                Some(n) => match n.trim().parse::<u32>() {
                    Ok(n) if n > 0 => n == 1,
                    _ => return Err(ConfigError::BadInstances(n)),
                },
            },
            require_verified: env("MINICOM_REQUIRE_VERIFIED_IDENTITY")
                .is_some_and(|v| v == "1" || v == "true"),
            allowed_origins: match env("MINICOM_ALLOWED_ORIGINS") {
                None => Vec::new(),
                Some(list) => parse_origins(&list)?,
            },
            assistant: assistant_from_env()?,
            backup: crate::server::backup::Schedule::from_env().map_err(ConfigError::BadBackup)?,
            retention_days: match env("MINICOM_RETENTION_DAYS") {
                None => None,
                Some(_) => Some(positive::<u32>("MINICOM_RETENTION_DAYS", 1)?),
            },
            webhooks: crate::server::webhooks::Settings::from_env(),
            email: crate::server::email::Settings::from_env().map_err(ConfigError::BadEmail)?,
            edit_window_minutes: match env("MINICOM_EDIT_WINDOW_MINUTES") {
                None => 15,
                Some(value) => value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|m| (0..=10_080).contains(m))
                    .ok_or(ConfigError::BadEditWindow(value))?,
            },
        }))
    }
}

/// A positive whole number from the environment; `default` when unset.
fn positive<T>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + Default,
{
    match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > T::default())
            .ok_or(ConfigError::BadLimit(name, value)),
    }
}

fn assistant_from_env() -> Result<AssistantConfig, ConfigError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let number = positive::<u64>;
    let mut config = AssistantConfig::off();
    config.engine = match env("MINICOM_ASSISTANT").as_deref() {
        None | Some("embedded") => AssistantEngine::Embedded {
            model: env("MINICOM_ASSISTANT_MODEL")
                .unwrap_or_else(|| DEFAULT_MODEL.into())
                .into(),
        },
        Some("remote") => AssistantEngine::Remote {
            url: env("MINICOM_ASSISTANT_URL").ok_or(ConfigError::MissingAssistantUrl)?,
            model: env("MINICOM_ASSISTANT_REMOTE_MODEL").unwrap_or_else(|| "default".into()),
            api_key: env("MINICOM_ASSISTANT_API_KEY"),
            ca: env("MINICOM_ASSISTANT_CA").map(Into::into),
        },
        Some("off") => AssistantEngine::Off,
        Some(other) => return Err(ConfigError::BadAssistant(other.to_owned())),
    };
    config.timeout =
        std::time::Duration::from_secs(number("MINICOM_ASSISTANT_TIMEOUT_SECONDS", 20)?);
    config.workers = number("MINICOM_ASSISTANT_WORKERS", default_workers() as u64)? as usize;
    config.threads = number("MINICOM_ASSISTANT_THREADS", 1)? as usize;
    config.queue = number("MINICOM_ASSISTANT_QUEUE", 16)? as usize;
    Ok(config)
}

/// Where files are kept and their limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilesConfig {
    pub storage: FilesAt,
    pub limits: FileLimits,
}

/// Where files are kept (`MINICOM_FILES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FilesAt {
    /// A `files` folder beside an SQLite database; inside a PostgreSQL one.
    #[default]
    Default,
    /// This folder (with several instances: one they all mount).
    Folder(std::path::PathBuf),
    /// In the database (PostgreSQL: every instance reaches every file).
    Database,
}

fn files_from_env() -> Result<FilesConfig, ConfigError> {
    let d = FileLimits::default();
    let storage = match std::env::var("MINICOM_FILES")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        None => FilesAt::Default,
        Some(v) if v.trim() == "database" => FilesAt::Database,
        Some(folder) => FilesAt::Folder(folder.trim().into()),
    };
    Ok(FilesConfig {
        storage,
        limits: FileLimits {
            max_bytes: positive("MINICOM_FILES_MAX_BYTES", d.max_bytes)?,
            per_message: positive("MINICOM_FILES_PER_MESSAGE", d.per_message)?
                .min(crate::protocol::MAX_ATTACHMENTS),
            per_minute: positive("MINICOM_FILES_PER_MINUTE", d.per_minute)?,
            conversation_bytes: positive("MINICOM_FILES_CONVERSATION_BYTES", d.conversation_bytes)?,
        },
    })
}

/// The abuse limits, each overridable by its `MINICOM_LIMIT_*` variable.
fn limits_from_env() -> Result<Limits, ConfigError> {
    let number = positive::<u32>;
    let d = Limits::default();
    Ok(Limits {
        sends_per_second: number("MINICOM_LIMIT_SENDS_PER_SECOND", d.sends_per_second)?,
        send_burst: number("MINICOM_LIMIT_SEND_BURST", d.send_burst)?,
        sends_per_minute: number("MINICOM_LIMIT_SENDS_PER_MINUTE", d.sends_per_minute)?,
        frames_per_second: number("MINICOM_LIMIT_FRAMES_PER_SECOND", d.frames_per_second)?,
        sockets_per_person: number(
            "MINICOM_LIMIT_SOCKETS_PER_PERSON",
            d.sockets_per_person as u32,
        )? as usize,
        sockets_per_ip: number("MINICOM_LIMIT_SOCKETS_PER_IP", d.sockets_per_ip as u32)? as usize,
        socket_queue_bytes: positive::<u64>(
            "MINICOM_LIMIT_SOCKET_QUEUE_BYTES",
            d.socket_queue_bytes as u64,
        )? as usize,
        new_visitors_per_ip_hour: number(
            "MINICOM_LIMIT_NEW_VISITORS_PER_IP_HOUR",
            d.new_visitors_per_ip_hour,
        )?,
        conversations_per_visitor_hour: number(
            "MINICOM_LIMIT_CONVERSATIONS_PER_VISITOR_HOUR",
            d.conversations_per_visitor_hour,
        )?,
        api_per_minute: number("MINICOM_LIMIT_API_PER_MINUTE", d.api_per_minute)?,
        ..d
    })
}

/// Parses a comma-separated list of origins.
fn parse_origins(list: &str) -> Result<Vec<String>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            crate::server::workspace::parse_origin(origin)
                .map_err(|_| ConfigError::BadOrigin(origin.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_are_scheme_and_host_only() {
        assert_eq!(
            parse_origins("https://shop.example.com, http://localhost:8080").unwrap(),
            ["https://shop.example.com", "http://localhost:8080"]
        );
        assert!(parse_origins("shop.example.com").is_err());
        assert!(parse_origins("https://shop.example.com/page").is_err());
        assert!(parse_origins("javascript://x").is_err());
    }

    #[test]
    fn the_browser_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let with = |list: &[&str]| {
            let mut headers = axum::http::HeaderMap::new();
            for value in list {
                headers.append("x-forwarded-for", value.parse().unwrap());
            }
            headers
        };
        // Straight from the browser: the header is the browser's own words.
        assert_eq!(
            proxies.client(ip("203.0.113.9"), &with(&["1.2.3.4"])),
            ip("203.0.113.9")
        );
        // Through the proxy: the hop it appended.
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &with(&["198.51.100.7"])),
            ip("198.51.100.7")
        );
        // A forged hop left of the real one is never believed; proxies in
        // a chain are skipped, over several headers too.
        assert_eq!(
            proxies.client(
                ip("10.0.0.2"),
                &with(&["6.6.6.6, 198.51.100.7", "10.1.1.1"])
            ),
            ip("198.51.100.7")
        );
        // No header or an unreadable one: the proxy is all we know.
        assert_eq!(proxies.client(ip("10.0.0.2"), &with(&[])), ip("10.0.0.2"));
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &with(&["not-an-address"])),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn trusted_proxies_match_addresses_and_networks() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7, fd00::/8").unwrap();
        assert!(proxies.contains(ip("10.200.3.4")));
        assert!(proxies.contains(ip("192.168.1.7")));
        assert!(!proxies.contains(ip("192.168.1.8")));
        assert!(proxies.contains(ip("fd12::1")));
        assert!(!proxies.contains(ip("fe80::1")));
        assert!(!proxies.contains(ip("11.0.0.1")));
        let local = TrustedProxies::default();
        assert!(local.contains(ip("127.0.0.1")));
        assert!(local.contains(ip("::1")));
        assert!(local.contains(ip("::ffff:127.0.0.1")), "v4-mapped");
        assert!(!local.contains(ip("203.0.113.9")));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.local").is_err());
    }
}
