//! Backups of the embedded database, through the real command line
//! (`minicom backup`, `minicom restore`) and the server's schedule: a backup
//! taken while messages are being sent restores every message acknowledged
//! before it started; a damaged backup, or a database in use, is refused and
//! nothing changes.
//!
//! Backups are of SQLite; these tests use it whichever engine the suite
//! runs on (PostgreSQL is backed up with its own tools: docs/deploy.md).

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, TestServer};
use minicom::protocol::{Attachment, ConversationId, ServerFrame};

/// `minicom <args>` on the database at `database_url`: (succeeded, stdout, stderr).
async fn minicom(database_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_minicom"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("MINICOM_FILES")
        .output()
        .await
        .expect("run the minicom binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("minicom.db").display())
}

async fn sqlite_server(dir: tempfile::TempDir) -> TestServer {
    let url = sqlite_url(dir.path());
    TestServer::start_on(dir, url, common::without_rate_limits).await
}

/// A picture the visitor sends into `conversation`; what they sent.
async fn send_picture(
    server: &TestServer,
    visitor: &mut Client,
    cookie: &str,
    conversation: ConversationId,
) -> (Attachment, Vec<u8>) {
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(64, 48)
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("encode");
    let bytes = png.into_inner();
    let uploaded = server
        .upload(cookie, Some(conversation), "receipt.png", &bytes)
        .await;
    assert_eq!(
        uploaded.status,
        201,
        "{}",
        String::from_utf8_lossy(&uploaded.body)
    );
    let file: Attachment = serde_json::from_slice(&uploaded.body).expect("an attachment");
    visitor
        .send_files(Some(conversation), "my receipt", &[&file.id])
        .await;
    (file, bytes)
}

#[tokio::test]
async fn a_backup_taken_while_messages_are_sent_restores_every_message_acknowledged_before_it() {
    let server = sqlite_server(tempfile::tempdir().expect("dir")).await;
    let (mut visitor, cookie) = server.visitor().await;
    let id = visitor.first_message("first").await;
    let (picture, bytes) = send_picture(&server, &mut visitor, &cookie, id).await;

    // The visitor keeps writing, one message at a time, recording each ack.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let (enough_tx, mut enough) = tokio::sync::watch::channel(0usize);
    let (stop_tx, mut stop) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn({
        let acked = acked.clone();
        async move {
            for n in 0.. {
                if stop.try_recv().is_ok() {
                    break;
                }
                let body = format!("message {n}");
                visitor.say(Some(id), &body).await;
                visitor
                    .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
                    .await;
                let count = {
                    let mut acked = acked.lock().expect("lock");
                    acked.push(body);
                    acked.len()
                };
                let _ = enough_tx.send(count);
            }
            visitor
        }
    });
    enough
        .wait_for(|n| *n >= 50)
        .await
        .expect("the visitor writes");
    let before: Vec<String> = acked.lock().expect("lock").clone();
    let backups = tempfile::tempdir().expect("dir");
    let file = backups.path().join("minicom.tar.gz");
    let file_arg = file.display().to_string();
    let (ok, out, err) = minicom(&server.database_url, &["backup", "--to", &file_arg]).await;
    assert!(ok, "backup failed: {out}{err}");
    assert!(out.contains("Backed up 1 conversation,"), "{out}");
    assert!(out.contains(", 1 file "), "{out}");
    // Nothing of the work is left beside the backup.
    let beside: Vec<_> = std::fs::read_dir(backups.path())
        .expect("read")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["minicom.tar.gz"]);
    // Writing went on during the backup.
    let during = acked.lock().expect("lock").len();
    let _ = stop_tx.send(());
    let _visitor = writer.await.expect("writer");
    assert!(
        during > before.len(),
        "no message was acknowledged while the backup ran"
    );

    // Restored into a new place, a new server has every message acked before.
    let restored = tempfile::tempdir().expect("dir");
    let url = sqlite_url(restored.path());
    let (ok, out, err) = minicom(&url, &["restore", "--from", &file_arg]).await;
    assert!(ok, "restore failed: {out}{err}");
    assert!(out.contains("Restored 1 conversation,"), "{out}");
    assert!(out.contains(", 1 file "), "{out}");
    let again = sqlite_server(restored).await;
    // The picture came back with its bytes (and its thumbnail).
    let agent_cookie = again.agent_cookie().await;
    let file = again
        .http_bytes("GET", &picture.url(), &[("Cookie", &agent_cookie)], b"")
        .await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, bytes);
    let thumb = again
        .http_bytes(
            "GET",
            &picture.thumb_url(),
            &[("Cookie", &agent_cookie)],
            b"",
        )
        .await;
    assert_eq!(thumb.status, 200);
    let mut agent = again.agent().await;
    let bodies: Vec<String> = agent
        .resume(id, 0)
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    for body in &before {
        assert!(
            bodies.contains(body),
            "{body:?} was acknowledged before the backup and is missing"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_damaged_backup_is_refused_and_the_database_is_left_as_it_was() {
    let dir = tempfile::tempdir().expect("dir");
    let server = sqlite_server(tempfile::tempdir().expect("dir")).await;
    let (mut visitor, _) = server.visitor().await;
    visitor.first_message("please keep me").await;
    let good = dir.path().join("good.tar.gz");
    let good_arg = good.display().to_string();
    let (ok, out, err) = minicom(&server.database_url, &["backup", "--to", &good_arg]).await;
    assert!(ok, "{out}{err}");
    // A second backup to the same name is refused.
    let (ok, _, err) = minicom(&server.database_url, &["backup", "--to", &good_arg]).await;
    assert!(!ok && err.contains("exists already"), "{err}");
    server.stop().await;

    // A database that is already there and must survive a failed restore.
    let target = tempfile::tempdir().expect("dir");
    let target_url = sqlite_url(target.path());
    std::fs::write(target.path().join("minicom.db"), b"the database in place").expect("write");

    let bytes = std::fs::read(&good).expect("read");
    let flipped = dir.path().join("flipped.tar.gz");
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    for byte in &mut damaged[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    std::fs::write(&flipped, damaged).expect("write");
    // The gzip trailer's checksum alone: every byte before it reads.
    let trailer = dir.path().join("trailer.tar.gz");
    let mut bad_sum = bytes.clone();
    let at = bad_sum.len() - 8;
    bad_sum[at] ^= 0xff;
    std::fs::write(&trailer, bad_sum).expect("write");
    let cut = dir.path().join("cut.tar.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let not_one = dir.path().join("notes.txt");
    std::fs::write(&not_one, "not a backup").expect("write");

    for file in [&flipped, &trailer, &cut, &not_one] {
        let (ok, out, err) = minicom(
            &target_url,
            &["restore", "--from", &file.display().to_string()],
        )
        .await;
        assert!(!ok, "{} was restored: {out}", file.display());
        assert!(
            err.contains("is not a usable Minicom backup") && err.contains("Nothing was changed"),
            "{}: {err}",
            file.display()
        );
        assert_eq!(
            std::fs::read(target.path().join("minicom.db")).expect("read"),
            b"the database in place",
            "a refused restore changed the database"
        );
    }
    let (ok, out, err) = minicom(&target_url, &["restore", "--from", &good_arg]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("kept as"), "{out}");
}

#[tokio::test]
async fn a_restore_is_refused_while_a_server_uses_the_database() {
    let server = sqlite_server(tempfile::tempdir().expect("dir")).await;
    let (mut visitor, _) = server.visitor().await;
    let id = visitor.first_message("still here").await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("b.tar.gz").display().to_string();
    let (ok, out, err) = minicom(&server.database_url, &["backup", "--to", &file]).await;
    assert!(ok, "{out}{err}");
    let (ok, _, err) = minicom(&server.database_url, &["restore", "--from", &file]).await;
    assert!(!ok, "a restore replaced a database in use");
    assert!(
        err.contains("in use") && err.contains("stop it first"),
        "{err}"
    );
    // The server is unharmed.
    visitor.say(Some(id), "after the refused restore").await;
    visitor
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_backup_of_a_database_that_is_not_there_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let typo = dir.path().join("typo");
    let to = dir.path().join("b.tar.gz").display().to_string();
    let (ok, _, err) = minicom(&sqlite_url(&typo), &["backup", "--to", &to]).await;
    assert!(!ok);
    assert!(err.contains("there is no database at"), "{err}");
    assert!(!typo.exists(), "a mistyped path made a folder");
}

#[tokio::test]
async fn postgres_deployments_are_pointed_at_postgres_tools() {
    let (ok, _, err) = minicom(
        "postgres://nobody@127.0.0.1:1/none",
        &["backup", "--to", "/tmp/never.tar.gz"],
    )
    .await;
    assert!(!ok);
    assert!(
        err.contains("pg_dump") && err.contains("docs/deploy.md"),
        "{err}"
    );
}

#[tokio::test]
async fn scheduled_backups_keep_the_newest_and_metrics_tell_their_age() {
    let backups = tempfile::tempdir().expect("dir");
    let dir = tempfile::tempdir().expect("dir");
    let url = sqlite_url(dir.path());
    let schedule = minicom::server::backup::Schedule {
        dir: backups.path().to_owned(),
        every: Duration::from_secs(1),
        keep: 2,
    };
    std::fs::write(backups.path().join("minicom-by-hand.tar.gz"), "kept").expect("write");
    let server = TestServer::start_on(dir, url, |config| config.backup = Some(schedule)).await;
    // Waits (bounded) for the third distinct backup the metrics report.
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "backups taken: {seen:?}"
        );
        let metrics = server.metrics().await;
        assert_eq!(metrics.get("minicom_backup_failures_total"), Some(&0.0));
        let at = metrics["minicom_backup_last_success_timestamp_seconds"];
        let age = metrics["minicom_backup_age_seconds"];
        if at == 0.0 {
            // None yet: an alert on the age fires.
            assert_eq!(age, f64::INFINITY);
        } else if !seen.contains(&at) {
            seen.push(at);
            assert!((0.0..5.0).contains(&age), "age {age}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.http("GET", "/readyz", &[], "").await.status, 200);
    server.stop().await;
    // Once it stopped: the newest two are kept, and a backup someone put
    // there by hand is left alone.
    let mut kept: Vec<_> = std::fs::read_dir(backups.path())
        .expect("read")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar.gz"))
        .collect();
    kept.sort();
    assert!(
        kept.contains(&"minicom-by-hand.tar.gz".to_owned()),
        "{kept:?}"
    );
    kept.retain(|n| n != "minicom-by-hand.tar.gz");
    assert_eq!(kept.len(), 2, "MINICOM_BACKUP_KEEP is 2: {kept:?}");
    // A backup is named when it starts, after the one before it finished:
    // the newest one the metrics showed was named after the one before.
    seen.sort_by(f64::total_cmp);
    let before_ms = (seen[seen.len() - 2] * 1e3).round() as i64;
    let before = jiff::Timestamp::from_millisecond(before_ms).expect("time");
    let name = format!(
        "minicom-{}{:03}Z.tar.gz",
        before.strftime("%Y%m%dT%H%M%S."),
        before_ms.rem_euclid(1000)
    );
    assert!(
        kept.last().is_some_and(|last| last > &name),
        "the newest backup (named after {name}) was pruned: {kept:?}"
    );
}
