//! Just enough HTTP/1.1 for the load generator: the visitor cookie a page
//! load gives, an agent's sign-in, and reading `/metrics` and `/readyz`.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Largest response head (status line and headers) we accept.
const MAX_HEAD: usize = 64 * 1024;

/// A TCP connection from `source` (one of the 127.0.0.x addresses) to `target`.
pub async fn connect_from(source: IpAddr, target: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A response's status code and the `name=value` parts of its cookies.
struct Head {
    status: u16,
    cookies: Vec<String>,
    chunked: bool,
}

/// Sends `request` and reads the response head; returns it with any body bytes
/// read past it.
async fn exchange(stream: &mut TcpStream, request: &str) -> anyhow::Result<(Head, Vec<u8>)> {
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(4096);
    let end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        if buf.len() > MAX_HEAD {
            bail!("response head larger than {MAX_HEAD} bytes");
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection before answering");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..end]).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line in the response")?;
    let mut cookies = Vec::new();
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if name == "set-cookie" {
            if let Some(pair) = value.trim().split(';').next() {
                cookies.push(pair.to_owned());
            }
        } else if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        }
    }
    let rest = buf[end + 4..].to_vec();
    Ok((
        Head {
            status,
            cookies,
            chunked,
        },
        rest,
    ))
}

fn cookie_named(head: &Head, name: &str) -> Option<String> {
    head.cookies
        .iter()
        .find(|c| c.split('=').next() == Some(name))
        .cloned()
}

/// Loads the messenger page as a browser would and returns the visitor cookie
/// (`minicom_visitor=…`) it sets.
pub async fn visitor_cookie(source: IpAddr, target: SocketAddr) -> anyhow::Result<String> {
    let mut stream = connect_from(source, target).await?;
    let request = format!(
        "GET /messenger HTTP/1.1\r\nHost: {target}\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
    );
    let (head, _) = exchange(&mut stream, &request).await?;
    if head.status != 200 {
        bail!("GET /messenger answered HTTP {}", head.status);
    }
    cookie_named(&head, minicom::server::auth::VISITOR_COOKIE)
        .context("the messenger page set no visitor cookie")
}

/// Signs an agent in through the sign-in form and returns the session cookie.
pub async fn sign_in(
    source: IpAddr,
    target: SocketAddr,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let mut stream = connect_from(source, target).await?;
    let form = format!(
        "email={}&password={}",
        form_encode(email),
        form_encode(password)
    );
    let request = format!(
        "POST /auth/login HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    let (head, _) = exchange(&mut stream, &request).await?;
    cookie_named(&head, minicom::server::auth::SESSION_COOKIE).with_context(|| {
        format!(
            "sign-in as {email} failed (HTTP {}): check --admin-email and --admin-password",
            head.status
        )
    })
}

/// Switches the assistant on or off for new conversations (the admins'
/// setting on the Team page), with an admin's session cookie.
pub async fn set_assistant(target: SocketAddr, cookie: &str, on: bool) -> anyhow::Result<()> {
    let mut stream = connect_from(IpAddr::from([127, 0, 0, 1]), target).await?;
    let form = if on {
        "enabled=on&company=Northwind+Coffee&prompt="
    } else {
        "company=Northwind+Coffee&prompt="
    };
    let request = format!(
        "POST /api/assistant_settings_save HTTP/1.1\r\nHost: {target}\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    let (head, mut body) = exchange(&mut stream, &request).await?;
    stream.read_to_end(&mut body).await?;
    if !(200..300).contains(&head.status) {
        bail!(
            "switching the assistant failed (HTTP {}): {}",
            head.status,
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

/// GETs `path` and returns the status and the body.
pub async fn get(target: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = connect_from(IpAddr::from([127, 0, 0, 1]), target).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n");
    let (head, mut body) = exchange(&mut stream, &request).await?;
    stream.read_to_end(&mut body).await?;
    if head.chunked {
        body = minicom::server::http::decode_chunked(&body).map_err(anyhow::Error::msg)?;
    }
    Ok((head.status, String::from_utf8_lossy(&body).into_owned()))
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One value from a Prometheus text exposition (`name` or `name{labels}`).
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.rsplit_once(' ')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

/// The server's resident memory, from its `/metrics`.
pub async fn server_rss(target: SocketAddr) -> Option<f64> {
    let (_, text) = get(target, "/metrics").await.ok()?;
    metric(&text, "process_resident_memory_bytes")
}

/// The CPU time the server has used so far, in seconds, from its `/metrics`.
pub async fn server_cpu_seconds(target: SocketAddr) -> Option<f64> {
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

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form_encode("a b&c@d"), "a%20b%26c%40d");
    }
}
