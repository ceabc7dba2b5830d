//! A throwaway nginx in front of test instances, from Debian's package, on a
//! free port, running the configuration docs/deploy.md documents
//! (docs/nginx/minicom.conf) with the test's addresses filled in.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

pub struct Nginx {
    pub addr: SocketAddr,
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx in front of `primary`, with `backup` taking over only when the
    /// primary fails (so a test knows where a client lands).
    pub async fn start(primary: SocketAddr, backup: SocketAddr) -> Self {
        Self::launch(primary, &format!("{backup} backup")).await
    }

    /// nginx spreading requests over both instances, as in production.
    pub async fn balancing(first: SocketAddr, second: SocketAddr) -> Self {
        Self::launch(first, &second.to_string()).await
    }

    async fn launch(first: SocketAddr, second: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // nginx's workers run as an unprivileged user and buffer large
        // answers into temporary files here.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("open the temp dir to nginx's workers");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let site = std::fs::read_to_string("docs/nginx/minicom.conf")
            .expect("docs/nginx/minicom.conf")
            .replace("10.0.0.11:3000", &first.to_string())
            .replace("10.0.0.12:3000", second)
            .replace("listen 80;", &format!("listen {addr};"));
        let path = dir.path().display().to_string();
        std::fs::write(dir.path().join("minicom.conf"), site).expect("write site");
        let main = format!(
            "worker_processes 1;\n\
             pid {path}/nginx.pid;\n\
             error_log {path}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
                 access_log off;\n\
                 client_body_temp_path {path}/body;\n\
                 proxy_temp_path {path}/proxy;\n\
                 fastcgi_temp_path {path}/fastcgi;\n\
                 uwsgi_temp_path {path}/uwsgi;\n\
                 scgi_temp_path {path}/scgi;\n\
                 include {path}/minicom.conf;\n\
             }}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).expect("write nginx.conf");
        let child = tokio::process::Command::new(nginx())
            .args(["-p", &path, "-c", &format!("{path}/nginx.conf")])
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx starts (make setup installs it)");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Self {
                    addr,
                    child,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        panic!("nginx did not start listening on {addr}: {log}");
    }
}

impl Drop for Nginx {
    /// SIGTERM, not SIGKILL: the master stops its workers before it exits
    /// (a killed master would leave them holding the port).
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
    }
}

/// Debian's nginx binary.
fn nginx() -> &'static str {
    if std::path::Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    }
}
