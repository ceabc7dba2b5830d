//! Requests Minicom makes to other hosts (the remote assistant engine,
//! webhooks): one TLS setup, errors told down to their cause, and the guard
//! that keeps webhooks off private networks.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// TLS with rustls: the public certificate authorities (Mozilla's, compiled
/// in: no system store needed) and those in the PEM file `extra_ca`. The
/// error is a sentence about the file.
pub fn tls(extra_ca: Option<&std::path::Path>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca {
        let unreadable = |e: &dyn std::fmt::Display| {
            format!(
                "{}: {e} (it must be a PEM file of certificates)",
                path.display()
            )
        };
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
            roots
                .add(cert.map_err(|e| unreadable(&e))?)
                .map_err(|e| unreadable(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(unreadable(&"no certificate in it"));
        }
    }
    // ring rather than rustls' default aws-lc-rs: no C library to build,
    // which every fresh machine's first build would pay for. rustls marks
    // it deprecated only for lacking post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A client that goes straight to the host: no proxy from the
/// environment, no redirects (a key or a signed body never goes on to
/// another host).
pub fn client(tls: rustls::ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
}

/// What failed, down to the cause (an untrusted certificate, a refused
/// connection are deep in the chain); never the URL (its query may carry
/// a key).
pub fn failure(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut why = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        why.push_str(&format!(": {c}"));
        cause = c.source();
    }
    why
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local (cloud metadata lives there), shared, multicast, reserved or
/// for documentation. Webhooks go only to these unless allowed otherwise.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // Shared address space (carrier-grade NAT), 100.64.0.0/10.
                || (a == 100 && (64..128).contains(&b))
                // IETF protocol assignments, 192.0.0.0/24.
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                // Benchmarking, 198.18.0.0/15.
                || (a == 198 && (b == 18 || b == 19))
                // Reserved, 240.0.0.0/4.
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible
            // (::a.b.c.d), translated (::ffff:0:a.b.c.d), 6to4 (2002:ab:cd::).
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                std::net::Ipv4Addr::new(a, b, c, d)
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
                return is_public(IpAddr::V4(embedded(s[6], s[7])));
            }
            if s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0 {
                return is_public(IpAddr::V4(embedded(s[6], s[7])));
            }
            if s[0] == 0x2002 {
                return is_public(IpAddr::V4(embedded(s[1], s[2])));
            }
            let first = s[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local, fc00::/7.
                || (first & 0xfe00) == 0xfc00
                // Link-local, fe80::/10.
                || (first & 0xffc0) == 0xfe80
                // Documentation, 2001:db8::/32.
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                // NAT64, 64:ff9b::/96: it reaches an IPv4 address.
                || (first == 0x0064 && v6.segments()[1] == 0xff9b)
                // Site-local (old), fec0::/10; discard, 100::/64; Teredo, 2001::/32.
                || (first & 0xffc0) == 0xfec0
                || (first == 0x0100 && s[1..4] == [0; 3])
                || (first == 0x2001 && s[1] == 0))
        }
    }
}

/// The addresses `url`'s host stands for, checked: all public unless
/// `allow_private`. Connecting to exactly these (not resolving again)
/// keeps a name that changes its answer from reaching inside.
pub async fn addresses(url: &reqwest::Url, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    // An IPv6 literal comes bracketed.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| format!("{host} could not be resolved: {e}"))?
        .collect();
    if found.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    if !allow_private && let Some(inside) = found.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "{host} is a private, loopback or link-local address ({}): refused. Set MINICOM_WEBHOOKS_ALLOW_PRIVATE=1 to send to systems on your own network",
            inside.ip()
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::10.0.0.1",
            "::ffff:0:10.0.0.1",
            "2002:a00:1::",
            "2002:7f00:1::1",
            "fec0::1",
            "100::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(
                !is_public(inside.parse().unwrap()),
                "{inside} counted as public"
            );
        }
        for outside in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(
                is_public(outside.parse().unwrap()),
                "{outside} counted as private"
            );
        }
    }

    #[tokio::test]
    async fn names_and_literals_for_inside_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://[::1]:8080/",
            "http://169.254.169.254/latest/meta-data",
        ] {
            let url = reqwest::Url::parse(url).unwrap();
            let refused = addresses(&url, false).await.unwrap_err();
            assert!(
                refused.contains("MINICOM_WEBHOOKS_ALLOW_PRIVATE"),
                "{refused}"
            );
            assert!(addresses(&url, true).await.is_ok());
        }
    }
}
