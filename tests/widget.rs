//! `GET /widget.js`, the one script other websites include.

mod common;

use common::TestServer;

#[tokio::test]
async fn the_widget_script_is_served_cached_and_revalidated() {
    let server = TestServer::start().await;
    let script = server.http("GET", "/widget.js", &[], "").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.body.contains("window.Minicom = Minicom"));
    assert_eq!(script.header("cache-control"), Some("public, max-age=3600"));
    let etag = script.header("etag").expect("an etag").to_owned();

    let again = server
        .http("GET", "/widget.js", &[("If-None-Match", &etag)], "")
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    let packed = server
        .http("GET", "/widget.js", &[("Accept-Encoding", "gzip")], "")
        .await;
    assert_eq!(packed.header("content-encoding"), Some("gzip"));
}
