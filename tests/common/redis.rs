//! A throwaway Redis for the tests that run several instances: Debian's
//! `redis-server` on a free port, keeping nothing on disk, stopped when the
//! test ends. Nothing depends on a Redis that happens to run on the machine.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long Redis may take to say it is ready.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(20);

pub struct Redis {
    pub port: u16,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts Redis on a free port and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut redis = Self {
            port,
            child: None,
            _dir: dir,
        };
        redis.launch().await;
        redis
    }

    /// `redis://…` for `MINICOM_REDIS_URL`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills Redis at once (SIGKILL): every connection to it drops.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts Redis again on the same port (after [`Redis::kill`]).
    pub async fn restart(&mut self) {
        self.kill().await;
        self.launch().await;
    }

    async fn launch(&mut self) {
        let mut child = Command::new(redis_server())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &self._dir.path().display().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server starts (make setup installs it)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        };
        assert!(
            tokio::time::timeout(READY_WITHIN, ready)
                .await
                .unwrap_or(false),
            "redis-server on port {} did not become ready",
            self.port
        );
        // Keep reading what it prints, so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }
}

/// Debian's `redis-server` (the PATH's, wherever it is).
fn redis_server() -> &'static str {
    "redis-server"
}
