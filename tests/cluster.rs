//! Two Minicom instances on one database and one Redis bus behave as one
//! service: a visitor on one and an agent on the other see each other live,
//! a sign-out or a settings change on one applies on the other, and when
//! Redis goes away and comes back every socket resumes with nothing lost.
//!
//! Redis is a throwaway `redis-server` the test starts (see
//! `common/redis.rs`). The instances share one store here; that the store
//! itself is shared safely is the store's own tests' business.

mod common;

use std::time::Duration;

use common::nginx::Nginx;
use common::process::Instance;
use common::redis::Redis;
use common::workflow::visitor_writes;
use common::{Closed, TestServer};
use minicom::protocol::{ClientFrame, ClientId, ConversationId, MessageId, ServerFrame};
use minicom::server::config::Config;

/// Two instances of one service on a fresh Redis.
async fn two_instances() -> (Redis, TestServer, TestServer) {
    let redis = Redis::start().await;
    let url = redis.url();
    let on_redis = |config: &mut Config| config.redis_url = Some(url.clone());
    let a = TestServer::start_configured(on_redis).await;
    let b = TestServer::start_beside(&a, on_redis).await;
    (redis, a, b)
}

/// Two Minicom processes (which a test may kill) on one database and a
/// fresh Redis; the folder holds the database while it is SQLite.
async fn two_processes() -> (Redis, tempfile::TempDir, Instance, Instance) {
    let redis = Redis::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = common::database_url(dir.path(), "cluster");
    let url = redis.url();
    let env = [("MINICOM_REDIS_URL", url.as_str())];
    let a = Instance::spawn(&database_url, &env).await;
    let b = Instance::spawn(&database_url, &env).await;
    (redis, dir, a, b)
}

/// Waits for `conversation`'s row to reach an agent, then opens it: its
/// history holds `body`, and from now on its messages reach them live.
async fn opens_when_it_arrives(
    agent: &mut common::Client,
    conversation: ConversationId,
    body: &str,
) {
    agent
        .expect(|f| match f {
            ServerFrame::Conversation { conversation: row } if row.id == conversation => Some(()),
            _ => None,
        })
        .await;
    let history = agent.open(conversation).await;
    assert!(history.iter().any(|m| m.body == body), "{history:?}");
}

/// The next message `body` in `conversation` a client hears live.
async fn hears(client: &mut common::Client, conversation: ConversationId, body: &str) {
    client
        .expect(|f| match f {
            ServerFrame::Message { message }
                if message.conversation_id == conversation && message.body == body =>
            {
                Some(())
            }
            _ => None,
        })
        .await;
}

#[tokio::test]
async fn a_visitor_on_one_instance_and_an_agent_on_the_other_talk_live() {
    let (_redis, a, b) = two_instances().await;
    let (mut visitor, _) = a.visitor().await;
    let mut agent = b.agent().await;

    let conversation = visitor_writes(&mut visitor, "Hello from instance A").await;
    // The new row reaches the inbox on B; the agent opens it there.
    opens_when_it_arrives(&mut agent, conversation, "Hello from instance A").await;
    visitor.say(Some(conversation), "Are you there?").await;
    hears(&mut agent, conversation, "Are you there?").await;

    // Typing crosses the other way, then the reply.
    agent
        .send(&ClientFrame::Typing {
            conversation_id: conversation,
            typing: true,
        })
        .await;
    visitor
        .expect(|f| match f {
            ServerFrame::Typing {
                conversation_id,
                typing: true,
                ..
            } if conversation_id == conversation => Some(()),
            _ => None,
        })
        .await;
    agent.say(Some(conversation), "Hi, this is B").await;
    hears(&mut visitor, conversation, "Hi, this is B").await;
}

#[tokio::test]
async fn the_team_and_visitors_are_online_whichever_instance_they_are_on() {
    let redis = Redis::start().await;
    let url = redis.url();
    let quick = |config: &mut Config| {
        config.redis_url = Some(url.clone());
        config.limits.presence_grace = std::time::Duration::from_millis(200);
    };
    let a = TestServer::start_configured(quick).await;
    let b = TestServer::start_beside(&a, quick).await;
    let mut agent = b.agent().await;

    // A visitor on A is told the team is online: the teammate is on B.
    let cookie = a.visitor_cookie().await;
    let mut visitor = a.connect(&cookie, "visitor").await;
    let ServerFrame::Hello { team_online, .. } = visitor.hello().await else {
        unreachable!("hello() returns the hello")
    };
    assert!(team_online, "the team is online on the other instance");

    // An agent greeted on B sees that the visitor, on A, is online.
    let conversation = visitor_writes(&mut visitor, "Anyone there?").await;
    opens_when_it_arrives(&mut agent, conversation, "Anyone there?").await;
    let mut second = b.connect(&b.agent_cookie().await, "agent").await;
    let ServerFrame::Hello { conversations, .. } = second.hello().await else {
        unreachable!("hello() returns the hello")
    };
    let row = conversations
        .iter()
        .find(|row| row.id == conversation)
        .expect("the conversation is in the inbox");
    assert!(
        row.contact_online,
        "the visitor is online on the other instance"
    );

    // The last teammate anywhere leaves: the visitor on A hears it.
    agent.close().await;
    second.close().await;
    visitor
        .expect(|f| match f {
            ServerFrame::TeamPresence { online: false } => Some(()),
            _ => None,
        })
        .await;
}

#[tokio::test]
async fn sign_in_attempts_new_visitors_and_tabs_per_person_count_across_instances() {
    let redis = Redis::start().await;
    let url = redis.url();
    let strict = |config: &mut Config| {
        config.redis_url = Some(url.clone());
        config.limits.sign_in_slow_after = 100;
        config.limits.sign_in_refuse_after = 4;
        config.limits.sockets_per_person = 2;
        config.limits.new_visitors_per_ip_hour = 3;
    };
    let a = TestServer::start_configured(strict).await;
    let b = TestServer::start_beside(&a, strict).await;

    // One tab on each instance: a third, on either, is one too many.
    let cookie = a.visitor_cookie().await;
    let mut on_a = a.connect(&cookie, "visitor").await;
    on_a.hello().await;
    let mut on_b = b.connect(&cookie, "visitor").await;
    on_b.hello().await;
    match a.try_connect(&cookie, "visitor").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
        }
        other => panic!("a third tab was let in: {:?}", other.is_ok()),
    }
    // Closing one makes room again, wherever it was. B counts the closed
    // tab once its socket task ends, just after the close handshake: asked
    // again until then, within a deadline.
    on_b.close().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut tab = loop {
        if let Ok(tab) = a.try_connect(&cookie, "visitor").await {
            break tab;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed tab on B still counted"
        );
    };
    tab.hello().await;
    on_a.round_trip().await;

    // Failed sign-ins on A count on B: spreading guesses over instances
    // buys nothing.
    for server in [&a, &b, &a, &b] {
        let wrong = server.sign_in(common::ADMIN_EMAIL, "guess").await;
        assert_eq!(wrong.header("location"), Some("/inbox?error=credentials"));
    }
    let right = b.sign_in(common::ADMIN_EMAIL, common::ADMIN_PASSWORD).await;
    assert_eq!(right.header("location"), Some("/inbox?error=throttled"));

    // New visitors from one address count across instances too: the first
    // was minted above, two more on B and A, and the fourth is refused.
    b.visitor_cookie().await;
    a.visitor_cookie().await;
    let fourth = b.http("GET", "/messenger", &[], "").await;
    assert_eq!(fourth.status, 429, "{}", fourth.body);
}

#[tokio::test]
async fn a_message_an_instance_stored_but_never_published_reaches_the_team_when_sent_again() {
    let (_redis, a, b) = two_instances().await;
    let (mut visitor, cookie) = a.visitor().await;
    let conversation = visitor_writes(&mut visitor, "first").await;
    let mut agent = b.agent().await;
    agent.open(conversation).await;

    // Instance A stores the visitor's next message and dies before it
    // publishes it (here: the store, without the socket handler).
    let contact = a
        .store()
        .conversation_summary(conversation)
        .await
        .expect("read")
        .expect("the conversation")
        .contact_id;
    let client_id = ClientId::new();
    a.store()
        .insert_message(
            conversation,
            contact,
            client_id,
            minicom::server::store::Author::contact(contact),
            "stored, never published",
        )
        .await
        .expect("stored");

    // The messenger never got its ack: it sends it again, to B, which finds
    // it stored — and publishes it, so the agent sees it now.
    let mut again = b.connect(&cookie, "visitor").await;
    again.hello().await;
    again
        .send(&ClientFrame::Send {
            conversation_id: Some(conversation),
            client_id,
            body: "stored, never published".into(),
            new_conversation: false,
            note: false,
            attachments: Vec::new(),
        })
        .await;
    hears(&mut agent, conversation, "stored, never published").await;
}

#[tokio::test]
async fn a_new_conversation_on_one_instance_goes_to_a_teammate_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let admin = a.agent_cookie().await;
    let on = a
        .post_form(&admin, "/api/auto_assign_set", &[("on", "1"), ("cap", "5")])
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    // The only teammate online is on B; the visitor writes on A.
    let mut agent = b.connect(&admin, "agent").await;
    let me = common::workflow::me_of(&agent.hello().await);
    let (mut visitor, _) = a.visitor().await;
    let conversation = visitor_writes(&mut visitor, "Who takes this?").await;
    let row = common::workflow::row_where(&mut agent, conversation, |r| r.assignee.is_some()).await;
    assert_eq!(row.assignee.map(|p| p.id), Some(me.0));
}

#[tokio::test]
async fn signing_out_on_one_instance_closes_the_agents_socket_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let cookie = a.agent_cookie().await;
    let mut on_b = b.connect(&cookie, "agent").await;
    on_b.hello().await;

    let out = a
        .http("POST", "/auth/logout", &[("Cookie", &cookie)], "")
        .await;
    assert_eq!(out.status, 303);
    match on_b.closed().await {
        Closed::Code(code, reason) => {
            assert_eq!(u16::from(code), 4001, "{reason}");
        }
        Closed::Dropped => panic!("closed without saying the agent signed out"),
    }
}

#[tokio::test]
async fn blocking_on_one_instance_closes_the_visitors_socket_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let admin = a.agent_cookie().await;
    let (mut visitor, _) = b.visitor().await;
    let conversation = visitor_writes(&mut visitor, "abuse").await;

    let blocked = a
        .post_form(
            &admin,
            "/api/block_visitor",
            &[
                ("conversation", &conversation.0.to_string()),
                ("reason", "Abuse"),
                ("address", ""),
            ],
        )
        .await;
    assert_eq!(blocked.status, 200, "{}", blocked.text());
    match visitor.closed().await {
        Closed::Code(code, reason) => {
            assert_eq!(
                u16::from(code),
                minicom::protocol::close::BLOCKED,
                "{reason}"
            );
        }
        Closed::Dropped => panic!("closed without saying the visitor is blocked"),
    }
}

#[tokio::test]
async fn a_setting_saved_on_one_instance_is_in_force_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let admin = a.agent_cookie().await;
    let saved = a
        .post_form(
            &admin,
            "/api/messenger_settings_save",
            &[
                ("form[team_name]", "Acme Tea"),
                ("form[brand_colour]", "#FFDE00"),
                ("form[launcher_side]", "left"),
                ("form[greeting]", "Hello"),
                ("form[intro]", "Ask us."),
                ("form[reply_time]", "minutes"),
                ("form[away_message]", "Back soon."),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    // Instance B reads the settings again once it hears of the change:
    // what it serves shows it (asked again until then, within a deadline).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let look = b.http("GET", "/widget/look", &[], "").await;
        if look.body.contains("Acme Tea") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "B still serves the old look: {}",
            look.body
        );
    }
    // A messenger opening there is greeted with the new look.
    let cookie = b.visitor_cookie().await;
    let mut visitor = b.connect(&cookie, "visitor").await;
    let ServerFrame::Hello { look, .. } = visitor.hello().await else {
        unreachable!("hello() returns the hello")
    };
    assert_eq!(look.map(|l| l.team_name).as_deref(), Some("Acme Tea"));
}

#[tokio::test]
async fn when_redis_comes_back_every_socket_resumes_and_nothing_is_lost() {
    let (mut redis, a, b) = two_instances().await;
    let (mut visitor, visitor_cookie) = a.visitor().await;
    let mut agent = b.agent().await;
    let conversation = visitor_writes(&mut visitor, "Before the outage").await;
    opens_when_it_arrives(&mut agent, conversation, "Before the outage").await;

    redis.kill().await;
    // While the bus is down each instance still serves its own sockets:
    // the visitor's send is stored and acknowledged.
    let during = visitor.say(Some(conversation), "During the outage").await;
    visitor
        .expect(|f| match f {
            ServerFrame::Ack { client_id, .. } if client_id == during => Some(()),
            _ => None,
        })
        .await;
    let ready = b.http("GET", "/readyz", &[], "").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(ready.body.contains("bus"), "{}", ready.body);

    redis.restart().await;
    // Both instances lost events while they were cut off: their sockets
    // are told to reconnect and resume.
    for socket in [&mut agent, &mut visitor] {
        match socket
            .closed_within(std::time::Duration::from_secs(30))
            .await
        {
            Closed::Code(code, _) => assert_eq!(u16::from(code), 1013),
            Closed::Dropped => panic!("closed without saying why"),
        }
    }
    agent_on_b_sees(&b, conversation, "During the outage").await;
    let ready = b.http("GET", "/readyz", &[], "").await;
    assert_eq!(ready.status, 200, "{}", ready.body);

    // The bus carries events between the instances again. (Each instance
    // that could not publish during the outage tells the others once it is
    // back, so a socket may be told to resume once more: the client
    // reconnects and sends again what was not acknowledged, as the
    // messenger's outbox does.)
    let after = ClientFrame::Send {
        conversation_id: Some(conversation),
        client_id: ClientId::new(),
        body: "After the outage".into(),
        new_conversation: false,
        note: false,
        attachments: Vec::new(),
    };
    let mut acked = false;
    for _ in 0..5 {
        let mut visitor = a.connect(&visitor_cookie, "visitor").await;
        visitor.hello().await;
        visitor.send(&after).await;
        loop {
            match visitor.next_or_close().await {
                Ok(ServerFrame::Ack { .. }) => {
                    acked = true;
                    break;
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if acked {
            break;
        }
    }
    assert!(acked, "the visitor's message was acknowledged");
    agent_on_b_sees(&b, conversation, "After the outage").await;
}

/// An agent on `server` sees `body` in `conversation`: in its history, or
/// live once it has the conversation open. A socket told to resume
/// (1013) reconnects and looks again, a bounded number of times.
async fn agent_on_b_sees(server: &TestServer, conversation: ConversationId, body: &str) {
    for _ in 0..5 {
        let mut agent = server.agent().await;
        if agent
            .open(conversation)
            .await
            .iter()
            .any(|m| m.body == body)
        {
            return;
        }
        loop {
            match agent.next_or_close().await {
                Ok(ServerFrame::Message { message })
                    if message.conversation_id == conversation && message.body == body =>
                {
                    return;
                }
                Ok(_) => {}
                Err(Closed::Code(code, _)) if u16::from(code) == 1013 => break,
                Err(closed) => panic!("the agent's socket ended: {closed:?}"),
            }
        }
    }
    panic!("{body:?} never reached the agent");
}

/// Send → delivered on one instance without Redis, on one instance through
/// Redis, and across two instances through Redis: what the hop costs.
/// `make bench-internals` runs it in release; figures in
/// docs/performance.md.
#[tokio::test]
#[ignore = "a benchmark: make bench-internals"]
async fn bench_the_cross_instance_hop() {
    const MESSAGES: usize = 2_000;
    let redis = Redis::start().await;
    let url = redis.url();
    let alone = TestServer::start_unlimited().await;
    let a = TestServer::start_configured(|config| {
        common::without_rate_limits(config);
        config.redis_url = Some(url.clone());
    })
    .await;
    let b = TestServer::start_beside(&a, |config| config.redis_url = Some(url.clone())).await;
    for (label, visitor_on, agent_on) in [
        ("one instance, in-process bus", &alone, &alone),
        ("one instance, Redis bus", &a, &a),
        ("visitor on A, agent on B", &a, &b),
    ] {
        let (mut visitor, _) = visitor_on.visitor().await;
        let mut agent = agent_on.agent().await;
        let conversation = visitor_writes(&mut visitor, "warm-up").await;
        opens_when_it_arrives(&mut agent, conversation, "warm-up").await;
        let mut took = Vec::with_capacity(MESSAGES);
        for i in 0..MESSAGES {
            let body = format!("m{i}");
            let started = std::time::Instant::now();
            let sent = visitor.say(Some(conversation), &body).await;
            hears(&mut agent, conversation, &body).await;
            took.push(started.elapsed());
            // Read the visitor's side too, so its socket never backs up.
            visitor
                .expect(|f| match f {
                    ServerFrame::Ack { client_id, .. } if client_id == sent => Some(()),
                    _ => None,
                })
                .await;
        }
        took.sort();
        let at = |q: f64| took[((took.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e3;
        println!(
            "{label}: send → delivered p50 {:.2} ms, p99 {:.2} ms ({MESSAGES} messages, one in flight)",
            at(0.50),
            at(0.99)
        );
    }
}

/// Every frame `client` hears within `wait` of the last one; the ids of the
/// messages in `conversation` among them.
async fn heard_ids(
    client: &mut common::Client,
    conversation: ConversationId,
    until: impl Fn(&std::collections::HashSet<MessageId>) -> bool,
) -> std::collections::HashSet<MessageId> {
    let mut seen = std::collections::HashSet::new();
    while !until(&seen) {
        if let ServerFrame::Message { message } = client.next().await
            && message.conversation_id == conversation
        {
            seen.insert(message.id);
        }
    }
    seen
}

#[tokio::test]
async fn killing_the_visitors_instance_mid_stream_loses_and_duplicates_nothing() {
    let (_redis, _dir, mut a, b) = two_processes().await;
    let nginx = Nginx::start(a.addr, b.addr).await;
    let front = TestServer::at(nginx.addr);
    let (mut visitor, cookie) = front.visitor().await;
    let mut agent = TestServer::at(b.addr).agent().await;
    let conversation = visitor_writes(&mut visitor, "hello").await;
    opens_when_it_arrives(&mut agent, conversation, "hello").await;

    // Stream sends through nginx (to A) without waiting; kill A once 30
    // acks are in.
    let frames: Vec<ClientFrame> = (0..200)
        .map(|i| ClientFrame::Send {
            conversation_id: Some(conversation),
            client_id: ClientId::new(),
            body: format!("m{i}"),
            new_conversation: false,
            note: false,
            attachments: Vec::new(),
        })
        .collect();
    for frame in &frames {
        visitor.send(frame).await;
    }
    let mut acked = Vec::new();
    while acked.len() < 30 {
        if let ServerFrame::Ack { message, .. } = visitor.next().await {
            acked.push(message.id);
        }
    }
    a.kill().await;
    drop(visitor);

    // The messenger reconnects through nginx, which now reaches B, and its
    // outbox sends everything not acknowledged again — here, all of it.
    let mut visitor = front.connect(&cookie, "visitor").await;
    visitor.hello().await;
    for frame in &frames {
        visitor.send(frame).await;
    }
    let mut stored = std::collections::HashSet::new();
    while stored.len() < frames.len() {
        if let ServerFrame::Ack { message, .. } = visitor.next().await {
            stored.insert(message.id);
        }
    }
    for id in &acked {
        assert!(
            stored.contains(id),
            "acknowledged {id:?} was stored again under a new id"
        );
    }

    // The agent on B saw every message live — those A published before it
    // died, and those it stored but never published — and resuming shows
    // each exactly once.
    let live = heard_ids(&mut agent, conversation, |seen| stored.is_subset(seen)).await;
    assert!(stored.is_subset(&live));
    let all = agent.resume(conversation, 0).await;
    let bodies: std::collections::HashSet<&str> = all.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(all.len(), 201, "each message stored exactly once");
    assert_eq!(bodies.len(), 201);
}

/// An instance that dies cannot say that its visitor stopped typing or
/// went offline: the other instance says both, within the typing expiry
/// and the presence expiry.
#[tokio::test]
async fn a_killed_instance_takes_its_visitors_typing_and_presence_with_it() {
    let (_redis, _dir, mut a, b) = two_processes().await;
    let (mut visitor, _) = TestServer::at(a.addr).visitor().await;
    let mut agent = TestServer::at(b.addr).agent().await;
    let conversation = visitor_writes(&mut visitor, "hello").await;
    let contact = agent
        .expect(|f| match f {
            ServerFrame::Conversation { conversation: row } if row.id == conversation => {
                Some(row.contact_id)
            }
            _ => None,
        })
        .await;
    agent.open(conversation).await;
    visitor
        .send(&ClientFrame::Typing {
            conversation_id: conversation,
            typing: true,
        })
        .await;
    let typing_is = |on: bool| {
        move |f: ServerFrame| match f {
            ServerFrame::Typing {
                conversation_id,
                person,
                typing,
            } if conversation_id == conversation && person.id == contact.0 && typing == on => {
                Some(())
            }
            _ => None,
        }
    };
    agent.expect(typing_is(true)).await;

    a.kill().await;
    // Typing ends after its expiry (6 s, and a second's margin)...
    agent
        .expect_within(Duration::from_secs(15), typing_is(false))
        .await;
    // ...and once A has missed its heartbeats (15 s), B announces the
    // visitor offline.
    agent
        .expect_within(Duration::from_secs(40), |f| match f {
            ServerFrame::Presence {
                contact_id,
                online: false,
                ..
            } if contact_id == contact => Some(()),
            _ => None,
        })
        .await;
}

/// A visitor's outbox, as the messenger keeps it: every send stays until
/// its ack, and goes again after a reconnect.
struct Outbox {
    frames: Vec<ClientFrame>,
    acked: std::collections::HashMap<ClientId, MessageId>,
}

impl Outbox {
    fn client_id(frame: &ClientFrame) -> ClientId {
        match frame {
            ClientFrame::Send { client_id, .. } => *client_id,
            _ => unreachable!("the outbox holds sends"),
        }
    }

    /// Sends what is not acknowledged yet.
    async fn flush(&self, socket: &mut common::Client) {
        for frame in &self.frames {
            if !self.acked.contains_key(&Self::client_id(frame)) {
                socket.send(frame).await;
            }
        }
    }

    /// Reads acks until `enough` are in; `false` when the socket closed
    /// first (the instance is going away).
    async fn acks(&mut self, socket: &mut common::Client, enough: usize) -> bool {
        while self.acked.len() < enough {
            match socket.next_or_close().await {
                Ok(ServerFrame::Ack { client_id, message }) => {
                    self.acked.insert(client_id, message.id);
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        true
    }
}

#[tokio::test]
async fn a_rolling_restart_under_load_loses_and_duplicates_nothing() {
    let redis = Redis::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = common::database_url(dir.path(), "rolling");
    let env = [("MINICOM_REDIS_URL", redis.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut instances = vec![
        Instance::spawn(&database_url, &env).await,
        Instance::spawn(&database_url, &env).await,
    ];
    let nginx = Nginx::balancing(instances[0].addr, instances[1].addr).await;
    let front = TestServer::at(nginx.addr);
    let (mut visitor, cookie) = front.visitor().await;
    let conversation = visitor_writes(&mut visitor, "hello").await;
    let mut outbox = Outbox {
        frames: Vec::new(),
        acked: Default::default(),
    };

    // Each instance in turn is stopped (SIGTERM) while the visitor is
    // writing to it, and started again; the visitor reconnects through
    // nginx, which sends it to the instance still running.
    for (round, turn) in [0, 1, 0].into_iter().enumerate() {
        let addr = instances[turn].addr;
        visitor = TestServer::at(addr).connect(&cookie, "visitor").await;
        visitor.hello().await;
        for i in 0..100 {
            outbox.frames.push(ClientFrame::Send {
                conversation_id: Some(conversation),
                client_id: ClientId::new(),
                body: format!("r{round}-m{i}"),
                new_conversation: false,
                note: false,
                attachments: Vec::new(),
            });
        }
        outbox.flush(&mut visitor).await;
        let some = outbox.acked.len() + 20;
        assert!(outbox.acks(&mut visitor, some).await);
        // Acks keep coming while the instance stops, until it tells the
        // socket to reconnect.
        let mut stopping = instances.swap_remove(turn);
        let (told, ()) = tokio::join!(
            async {
                loop {
                    match visitor.next_or_close().await {
                        Ok(ServerFrame::Ack { client_id, message }) => {
                            outbox.acked.insert(client_id, message.id);
                        }
                        Ok(_) => {}
                        Err(closed) => return closed,
                    }
                }
            },
            stopping.stop()
        );
        assert!(
            matches!(told, Closed::Code(code, _) if u16::from(code) == 1012),
            "the stopping instance tells its sockets to reconnect"
        );
        visitor = front.connect(&cookie, "visitor").await;
        visitor.hello().await;
        outbox.flush(&mut visitor).await;
        let restarted = Instance::spawn_on(addr, &database_url, &env).await;
        instances.insert(turn.min(instances.len()), restarted);
    }
    let all = outbox.frames.len();
    assert!(outbox.acks(&mut visitor, all).await, "the socket stayed up");

    // Every send stored once, under the id its first ack gave.
    let mut agent = front.agent().await;
    let stored = agent.resume(conversation, 0).await;
    assert_eq!(stored.len(), all + 1, "each message stored exactly once");
    let ids: std::collections::HashSet<MessageId> = stored.iter().map(|m| m.id).collect();
    assert!(outbox.acked.values().all(|id| ids.contains(id)));
}
