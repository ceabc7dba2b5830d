//! The load generator's HTTP, over reqwest: the visitor cookie a page load
//! gives, an agent's sign-in, the assistant switch, and reading `/metrics`
//! and `/readyz`. WebSockets open their own connections (see `socket`).

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, bail};
use reqwest::header::{ACCEPT, COOKIE, SET_COOKIE};
use tokio::net::{TcpSocket, TcpStream};

/// Idle keep-alive connections kept per source address: reused by the next
/// page load, bounded so a thousand visitors arriving at once do not leave
/// a thousand idle sockets on both sides.
const IDLE_PER_SOURCE: usize = 4;

/// A TCP connection from `source` (one of the 127.0.0.x addresses) to `target`.
pub async fn connect_from(source: IpAddr, target: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One HTTP client per source address (a client binds every connection it
/// makes to one local address).
pub fn clients(sources: &[IpAddr]) -> anyhow::Result<Vec<reqwest::Client>> {
    let tls = minicom::server::outbound::tls(None).map_err(anyhow::Error::msg)?;
    sources
        .iter()
        .map(|&source| {
            minicom::server::outbound::client(tls.clone())
                .local_address(source)
                .tcp_nodelay(true)
                .pool_max_idle_per_host(IDLE_PER_SOURCE)
                // A server that accepts but never answers is a failure,
                // not a hang.
                .connect_timeout(std::time::Duration::from_secs(5))
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .context("could not set up the HTTP client")
        })
        .collect()
}

/// The `name=value` part of the cookie `name` a response sets.
fn cookie_named(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|pair| pair.split('=').next() == Some(name))
        .map(str::to_owned)
}

fn url(target: &crate::socket::Target, path: &str) -> String {
    format!("http://{}{path}", target.addr)
}

/// Loads the messenger page as a browser would, from the `i`th source
/// address, and returns the visitor cookie (`minicom_visitor=…`) it sets.
pub async fn visitor_cookie(target: &crate::socket::Target, i: usize) -> anyhow::Result<String> {
    let response = target
        .client(i)
        .get(url(target, "/messenger"))
        .header(ACCEPT, "text/html")
        .send()
        .await
        .map_err(failure)?;
    if response.status() != 200 {
        bail!("GET /messenger answered HTTP {}", response.status());
    }
    let cookie = cookie_named(&response, minicom::server::auth::VISITOR_COOKIE)
        .context("the messenger page set no visitor cookie")?;
    // Read to the end, so the connection goes back to the pool.
    response.bytes().await.map_err(failure)?;
    Ok(cookie)
}

/// Signs an agent in through the sign-in form and returns the session cookie.
pub async fn sign_in(
    target: &crate::socket::Target,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let response = target
        .client(0)
        .post(url(target, "/auth/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .map_err(failure)?;
    cookie_named(&response, minicom::server::auth::SESSION_COOKIE).with_context(|| {
        format!(
            "sign-in as {email} failed (HTTP {}): check --admin-email and --admin-password",
            response.status()
        )
    })
}

/// Switches the assistant on or off for new conversations (the admins'
/// setting on the Team page), with an admin's session cookie.
pub async fn set_assistant(
    target: &crate::socket::Target,
    cookie: &str,
    on: bool,
) -> anyhow::Result<()> {
    let mut form = vec![("company", "Northwind Coffee"), ("prompt", "")];
    if on {
        form.push(("enabled", "on"));
    }
    let response = target
        .client(0)
        .post(url(target, "/api/assistant_settings_save"))
        .header(COOKIE, cookie)
        .header(ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(failure)?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("switching the assistant failed (HTTP {status}): {body}");
    }
    Ok(())
}

/// GETs `path` and returns the status and the body.
pub async fn get(target: &crate::socket::Target, path: &str) -> anyhow::Result<(u16, String)> {
    let response = target
        .client(0)
        .get(url(target, path))
        .send()
        .await
        .map_err(failure)?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.map_err(failure)?))
}

/// A request's failure, down to its cause (a refused connection is deep in
/// the chain).
fn failure(e: reqwest::Error) -> anyhow::Error {
    anyhow::Error::msg(minicom::server::outbound::failure(e))
}

/// One value from a Prometheus text exposition (`name` or `name{labels}`).
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.rsplit_once(' ')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

/// The server's resident memory, from its `/metrics`.
pub async fn server_rss(target: &crate::socket::Target) -> Option<f64> {
    let (_, text) = get(target, "/metrics").await.ok()?;
    metric(&text, "process_resident_memory_bytes")
}

/// The CPU time the server has used so far, in seconds, from its `/metrics`.
pub async fn server_cpu_seconds(target: &crate::socket::Target) -> Option<f64> {
    let (_, text) = get(target, "/metrics").await.ok()?;
    metric(&text, "process_cpu_seconds_total")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_found_by_exact_name() {
        let text = "# HELP x y\nminicom_sockets_open{kind=\"visitor\"} 12\nprocess_open_fds 40\n";
        assert_eq!(
            metric(text, "minicom_sockets_open{kind=\"visitor\"}"),
            Some(12.0)
        );
        assert_eq!(metric(text, "process_open_fds"), Some(40.0));
        assert_eq!(metric(text, "process_open"), None);
    }
}
