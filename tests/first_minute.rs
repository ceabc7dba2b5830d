//! What a newcomer on a slow link gets: pages compressed as they go out, the
//! site's files from their build-time brotli/gzip copies, and revalidation
//! instead of stale copies.

mod common;

use common::TestServer;

#[tokio::test]
async fn pages_are_compressed_when_the_browser_asks() {
    let server = TestServer::start().await;
    let plain = server.http("GET", "/", &[], "").await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.body.contains("Northwind Coffee"));

    for encoding in ["br", "gzip"] {
        let packed = server
            .http("GET", "/", &[("Accept-Encoding", encoding)], "")
            .await;
        assert_eq!(packed.status, 200);
        assert_eq!(packed.header("content-encoding"), Some(encoding));
        assert!(
            packed
                .header("vary")
                .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
            "caches keep the encodings apart"
        );
        assert!(!packed.body.contains("Northwind Coffee"), "not sent raw");
    }
}

#[tokio::test]
async fn site_files_come_from_their_build_time_copies_and_are_revalidated() {
    let server = TestServer::start().await;
    let pkg = server.site_pkg_dir();
    std::fs::create_dir_all(&pkg).expect("pkg dir");
    std::fs::write(pkg.join("minicom.wasm"), vec![b'w'; 4096]).expect("wasm");
    std::fs::write(pkg.join("minicom.wasm.br"), b"the brotli copy").expect("br copy");
    std::fs::write(pkg.join("minicom.wasm.gz"), b"the gzip copy").expect("gz copy");

    let br = server
        .http(
            "GET",
            "/pkg/minicom.wasm",
            &[("Accept-Encoding", "gzip, deflate, br")],
            "",
        )
        .await;
    assert_eq!(br.status, 200);
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("content-type"), Some("application/wasm"));
    assert_eq!(br.body, "the brotli copy");
    assert_eq!(br.header("cache-control"), Some("no-cache"));
    assert!(
        br.header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
        "caches keep the encodings apart"
    );

    let gz = server
        .http(
            "GET",
            "/pkg/minicom.wasm",
            &[("Accept-Encoding", "gzip")],
            "",
        )
        .await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.body, "the gzip copy");

    let raw = server.http("GET", "/pkg/minicom.wasm", &[], "").await;
    assert_eq!(raw.header("content-encoding"), None);
    assert_eq!(raw.body.len(), 4096);

    // Unchanged since the browser's copy: 304, nothing sent again.
    let modified = raw.header("last-modified").expect("last-modified");
    let again = server
        .http(
            "GET",
            "/pkg/minicom.wasm",
            &[("If-Modified-Since", modified)],
            "",
        )
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
}
