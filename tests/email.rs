//! Email follow-up against a real SMTP server (Python's aiosmtpd, from
//! PyPI: `make setup-mail`) on a free port: the team's replies reach a
//! visitor who left, once per burst; the link in the email opens the
//! conversation in a new browser after asking; unsubscribing stops them.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TestServer;
use minicom::protocol::{ClientFrame, ConversationId, ServerFrame};
use minicom::server::email::Settings;

/// A throwaway SMTP server that keeps what it receives in a Maildir.
struct Smtp {
    port: u16,
    child: tokio::process::Child,
    maildir: tempfile::TempDir,
}

impl Smtp {
    async fn start() -> Self {
        let packages = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/aiosmtpd");
        assert!(
            packages.join("aiosmtpd").is_dir(),
            "aiosmtpd is missing: run `make setup-mail` (it installs it from PyPI into target/aiosmtpd)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = tokio::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            // A folder it makes itself (with its tmp, new and cur).
            .arg(maildir.path().join("mail"))
            .env("PYTHONPATH", &packages)
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs aiosmtpd");
        // Ready once it accepts connections.
        for _ in 0..500 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    port,
                    child,
                    maildir,
                };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("aiosmtpd did not start listening on port {port}");
    }

    fn inbox(&self) -> PathBuf {
        self.maildir.path().join("mail").join("new")
    }

    /// The emails received so far, oldest first, decoded enough to read.
    fn received(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.inbox()) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| {
                let raw = std::fs::read_to_string(path).unwrap();
                // Quoted-printable, as long lines may come.
                raw.replace("=\r\n", "")
                    .replace("=\n", "")
                    .replace("=3D", "=")
            })
            .collect()
    }

    /// Waits until `count` emails have come; returns them all.
    async fn until(&self, count: usize) -> Vec<String> {
        for _ in 0..750 {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "{count} emails did not arrive; got {}",
            self.received().len()
        );
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

const PUBLIC: &str = "http://chat.minicom.test";

/// A server that emails through `smtp`, `delay` after a reply; a visitor
/// who closes their messenger is away at once.
async fn sending_to(smtp: &Smtp, delay: Duration) -> TestServer {
    TestServer::start_configured(|c| {
        c.email = Some(Settings {
            smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
            from: "Support <support@minicom.test>".into(),
            public_url: PUBLIC.into(),
            delay,
            first_retry: Duration::from_millis(50),
        });
        c.limits.presence_grace = Duration::from_millis(10);
    })
    .await
}

/// A visitor who leaves `email`, writes, and leaves; their conversation
/// and their browser's cookie.
async fn visitor_who_left(
    server: &TestServer,
    name: &str,
    email: &str,
) -> (ConversationId, String) {
    let (mut visitor, cookie) = server.visitor().await;
    visitor
        .send(&ClientFrame::Profile {
            name: Some(name.into()),
            email: Some(email.into()),
        })
        .await;
    let conversation = visitor.first_message("Do you ship to Oslo?").await;
    visitor.close().await;
    (conversation, cookie)
}

/// The link in an email's text that starts with `start` (the last one:
/// a header may carry it too, folded).
fn link<'a>(email: &'a str, start: &str) -> &'a str {
    let at = email.rfind(start).expect("the link is in the email");
    email[at..].split_whitespace().next().unwrap()
}

#[tokio::test]
async fn replies_reach_a_visitor_who_left_once_per_burst_and_the_link_opens_the_conversation() {
    let smtp = Smtp::start().await;
    let server = sending_to(&smtp, Duration::from_millis(600)).await;
    let (conversation, typed_by) = visitor_who_left(&server, "Ana", "ana@example.com").await;
    let mut agent = server.agent().await;
    for reply in ["Yes, we do.", "It takes 2 days.", "Anything else?"] {
        agent.say(Some(conversation), reply).await;
        agent
            .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
            .await;
    }
    let first = smtp.until(1).await.remove(0);
    assert!(first.contains("To: Ana <ana@example.com>"), "{first}");
    assert!(
        first.contains("Subject: Admin replied to your message"),
        "{first}"
    );
    for reply in ["Yes, we do.", "It takes 2 days.", "Anything else?"] {
        assert!(first.contains(reply), "one email for the burst: {first}");
    }
    assert!(first.contains("List-Unsubscribe: <http://chat.minicom.test/messenger/unsubscribe?"));

    // The next burst brings only what is new.
    agent
        .say(Some(conversation), "We also ship to Bergen.")
        .await;
    let second = smtp.until(2).await.remove(1);
    assert!(second.contains("We also ship to Bergen."), "{second}");
    assert!(!second.contains("Anything else?"), "sent once: {second}");

    // The link asks first, naming where it was sent; then opens the
    // conversation in a browser that had never seen it.
    let back = link(&first, &format!("{PUBLIC}/messenger/continue?"));
    let path = back.strip_prefix(PUBLIC).unwrap();
    let page = server.http("GET", path, &[], "").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("a…@example.com"), "{}", page.text());
    let form = path.split_once('?').unwrap().1.to_owned();
    let origin = format!("http://{}", server.addr);
    let opened = server
        .http(
            "POST",
            "/messenger/continue",
            &[
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &form,
        )
        .await;
    assert_eq!(opened.status, 303, "{}", opened.text());
    assert_eq!(
        opened.header("location"),
        Some(format!("/messenger?conversation={}", conversation.0).as_str())
    );
    let cookie = opened.cookie("minicom_visitor").expect("a visitor cookie");
    let mut browser = server.connect(&cookie, "visitor").await;
    let ServerFrame::Hello { conversations, .. } = browser.hello().await else {
        panic!("hello first");
    };
    assert!(conversations.iter().any(|c| c.id == conversation));
    let thread = browser.open(conversation).await;
    assert!(thread.iter().any(|m| m.body == "We also ship to Bergen."));
    // The address was only typed in: whoever holds the email owns the
    // conversation now, and the browser that typed it starts over.
    let mut before = server.connect(&typed_by, "visitor").await;
    let ServerFrame::Hello { conversations, .. } = before.hello().await else {
        panic!("hello first");
    };
    assert!(conversations.is_empty(), "{conversations:?}");

    // A link altered by hand opens nothing.
    let forged = form.replacen("c=", "c=9", 1);
    let refused = server
        .http(
            "POST",
            "/messenger/continue",
            &[
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &forged,
        )
        .await;
    assert_eq!(refused.status, 410);
    assert!(refused.cookie("minicom_visitor").is_none());
}

#[tokio::test]
async fn unsubscribing_stops_the_emails() {
    let smtp = Smtp::start().await;
    let server = sending_to(&smtp, Duration::from_millis(300)).await;
    let (ana, _) = visitor_who_left(&server, "Ana", "ana@example.com").await;
    let mut agent = server.agent().await;
    agent.say(Some(ana), "Yes, we do.").await;
    let first = smtp.until(1).await.remove(0);
    let out = link(&first, &format!("{PUBLIC}/messenger/unsubscribe?"));
    let path = out.strip_prefix(PUBLIC).unwrap();
    let page = server.http("GET", path, &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Stop the emails"), "asks first");
    let origin = format!("http://{}", server.addr);
    let done = server
        .http(
            "POST",
            "/messenger/unsubscribe",
            &[
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            path.split_once('?').unwrap().1,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("no more emails"));
    // A mail program's one-click button posts the link itself.
    let one_click = server
        .http(
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(one_click.status, 200, "{}", one_click.text());

    // Ana's next reply is due first, Ben's after: Ben's email arriving
    // means Ana's turn came and went without one.
    agent.say(Some(ana), "Still there?").await;
    agent
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    let (ben, _) = visitor_who_left(&server, "Ben", "ben@example.com").await;
    agent.say(Some(ben), "Hello Ben.").await;
    let got = smtp.until(2).await;
    assert!(got[1].contains("To: Ben <ben@example.com>"), "{}", got[1]);
    assert_eq!(got.len(), 2, "nothing more for Ana");
}

#[tokio::test]
async fn a_visitor_in_the_chat_is_emailed_only_once_they_leave_and_never_a_note() {
    let smtp = Smtp::start().await;
    let server = sending_to(&smtp, Duration::from_millis(300)).await;
    // Ana stays in the chat.
    let (mut ana, _) = server.visitor().await;
    ana.send(&ClientFrame::Profile {
        name: Some("Ana".into()),
        email: Some("ana@example.com".into()),
    })
    .await;
    let conversation = ana.first_message("Do you ship to Oslo?").await;
    let mut agent = server.agent().await;
    agent.say(Some(conversation), "Yes, to Oslo too.").await;
    agent
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    agent.note(conversation, "VIP: ships free").await;
    agent
        .expect(|f| matches!(f, ServerFrame::Ack { .. }).then_some(()))
        .await;
    // Ben, who left, is answered after Ana, twice: his first email means
    // Ana's turn was due, his second that it was handled (the sender works
    // through due follow-ups in order) — without an email: she was in the
    // chat.
    let (ben, _) = visitor_who_left(&server, "Ben", "ben@example.com").await;
    agent.say(Some(ben), "Hello Ben.").await;
    smtp.until(1).await;
    agent.say(Some(ben), "Anything else, Ben?").await;
    let got = smtp.until(2).await;
    assert!(
        got.iter().all(|e| e.contains("To: Ben <ben@example.com>")),
        "an email to Ana while she was in the chat: {got:?}"
    );

    // Ana leaves without reading on: the reply reaches her by email, the
    // team's note does not.
    ana.close().await;
    let got = smtp.until(3).await;
    assert!(got[2].contains("To: Ana <ana@example.com>"), "{}", got[2]);
    assert!(got[2].contains("Yes, to Oslo too."), "{}", got[2]);
    assert!(!got[2].contains("VIP"), "a note went out: {}", got[2]);
}
