//! Throwaway PostgreSQL clusters from Debian's packages: `initdb` into a
//! temporary folder, a free port, stopped and removed when the test (or the
//! test program) ends. Nothing depends on a PostgreSQL that happens to run
//! on the machine.
//!
//! PostgreSQL refuses to run as root: when the tests run as root, its
//! programs run as the package's `postgres` user on a folder it owns.
//!
//! `MINICOM_TEST_ENGINE=postgres` runs every suite's servers on PostgreSQL:
//! one cluster per test program ([`shared`]), one fresh database per server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian keeps PostgreSQL's programs: the newest version installed
/// (`/usr/lib/postgresql/<version>/bin`).
fn bin(program: &str) -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let versions = std::fs::read_dir("/usr/lib/postgresql").expect(
            "PostgreSQL from Debian's packages (/usr/lib/postgresql): run `make setup-services`",
        );
        versions
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version: u32 = entry.file_name().to_str()?.parse().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .max()
            .expect("a PostgreSQL version under /usr/lib/postgresql")
            .1
    });
    dir.join(program).display().to_string()
}

/// Whether this run stores in PostgreSQL (`MINICOM_TEST_ENGINE=postgres`).
pub fn selected() -> bool {
    std::env::var("MINICOM_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// A cluster of our own.
pub struct Postgres {
    pub port: u16,
    dir: PathBuf,
    /// The server's command-line settings.
    options: String,
    running: bool,
}

/// How each cluster runs: durable like production unless `fast` (the suites'
/// shared cluster, where a power cut is not under test).
fn settings(port: u16, dir: &Path, fast: bool) -> String {
    let mut options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400",
        dir.display()
    );
    if fast {
        options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    }
    options
}

impl Postgres {
    /// Makes and starts a cluster (about 2 s), durable as in production.
    pub fn start() -> Self {
        Self::start_tuned(false)
    }

    fn start_tuned(fast: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("minicom-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cluster folder");
        if as_root() {
            let (uid, gid) = postgres_user();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the cluster folder");
        }
        let data = dir.join("data");
        run(&[
            &bin("initdb"),
            "-D",
            &data.display().to_string(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        let options = settings(port, &dir, fast);
        let mut cluster = Self {
            port,
            dir,
            options,
            running: false,
        };
        cluster.resume();
        cluster
    }

    /// `postgres://…` for a database of this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// A new empty database; its `postgres://…` URL.
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        run(&[
            &bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ]);
        self.url(&name)
    }

    /// Stops the server at once (connections drop, as when its machine dies).
    pub fn halt(&mut self) {
        if self.running {
            self.ctl(&["stop", "-m", "immediate"]);
            self.running = false;
        }
    }

    /// Starts the server again on the same port and data.
    pub fn resume(&mut self) {
        let log = self.dir.join("log");
        self.ctl(&[
            "start",
            "-w",
            "-l",
            &log.display().to_string(),
            "-o",
            &self.options,
        ]);
        self.running = true;
    }

    fn ctl(&self, args: &[&str]) {
        let data = self.dir.join("data").display().to_string();
        let mut all = vec![bin("pg_ctl"), "-D".into(), data];
        all.extend(args.iter().map(|a| a.to_string()));
        run(&all.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.halt();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The cluster every server of this test program stores in, started on
/// first use and removed when the program exits.
pub fn shared() -> &'static Postgres {
    static SHARED: OnceLock<Postgres> = OnceLock::new();
    SHARED.get_or_init(|| {
        extern "C" fn remove_shared() {
            if let Some(cluster) = SHARED.get() {
                // Never panics: a panic here would abort a run that passed.
                let _ = std::panic::catch_unwind(|| cluster.ctl(&["stop", "-m", "immediate"]));
                let _ = std::fs::remove_dir_all(&cluster.dir);
            }
        }
        // The test harness ends with `exit`, which runs this; statics are
        // never dropped.
        // SAFETY: registers a plain function with no captured state.
        unsafe { libc::atexit(remove_shared) };
        Postgres::start_tuned(true)
    })
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The `postgres` user's and group's ids (`id -u`, `id -g`).
fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let output = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect(
                "the postgres user (from Debian's postgresql package: run `make setup-services`)",
            )
    };
    (id("-u"), id("-g"))
}

/// Runs a PostgreSQL program (as `postgres` when we are root); panics with
/// its output if it fails.
fn run(args: &[&str]) {
    let mut command = if as_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(args);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    };
    // PostgreSQL's programs go back to the folder they were started in,
    // which the `postgres` user may not be allowed to enter (a checkout
    // under /root): start them in the temporary folder.
    let output = command
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("could not run {}: {err}", args[0]));
    assert!(
        output.status.success(),
        "{} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
