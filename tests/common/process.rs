//! Minicom as a child process (the built binary), for tests that kill it.

use std::process::Stdio;
use std::time::Duration;

/// A Minicom process we can SIGKILL, on a database that outlives it.
pub struct Instance {
    pub child: tokio::process::Child,
    pub addr: std::net::SocketAddr,
}

impl Instance {
    /// Starts the binary on a free port with `database_url` and `env`, and
    /// waits until it accepts connections (bounded).
    pub async fn spawn(database_url: &str, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        Self::spawn_on(addr, database_url, env).await
    }

    /// Like [`Instance::spawn`], on `addr` (a restart where the load
    /// balancer expects it).
    pub async fn spawn_on(
        addr: std::net::SocketAddr,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> Self {
        // Without the bus, an instance is the only one (PostgreSQL asks).
        let alone = !env.iter().any(|(name, _)| *name == "MINICOM_REDIS_URL");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_minicom"))
            .env("MINICOM_INSTANCES", if alone { "1" } else { "" })
            .env("MINICOM_ADDR", addr.to_string())
            .env("DATABASE_URL", database_url)
            .env("MINICOM_ADMIN_EMAIL", super::ADMIN_EMAIL)
            .env("MINICOM_ADMIN_PASSWORD", super::ADMIN_PASSWORD)
            .env("MINICOM_LOG", "warn")
            .env("MINICOM_ASSISTANT", "off")
            .envs(super::NO_RATE_LIMITS)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the minicom binary");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                // Listening comes before the first admin and the rest of
                // start-up: the first answer comes once it serves.
                let ready = super::TestServer::at(addr)
                    .http("GET", "/readyz", &[], "")
                    .await;
                assert_eq!(ready.status, 200, "{}", ready.body);
                return Self { child, addr };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("minicom did not start listening on {addr}");
    }

    /// SIGTERM: the graceful stop a rolling restart uses (sockets are told
    /// to reconnect, committed sends are published); waits for the exit.
    pub async fn stop(&mut self) {
        let pid = self.child.id().expect("running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        let status = self.child.wait().await.expect("stopped");
        assert!(status.success(), "a graceful stop exits cleanly: {status}");
    }

    /// SIGKILL: no drain, no goodbye, sockets cut mid-stream.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("killed");
    }
}
