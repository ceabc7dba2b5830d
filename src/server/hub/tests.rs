//! The hub's unit tests: presence bookkeeping, counts, lag and full queues.

use super::*;
use crate::protocol::SenderKind;

const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

#[test]
fn a_reload_within_the_grace_period_is_not_an_offline() {
    let hub = Hub::new(Arc::default(), 1024 * 1024, typing::EXPIRES);
    let visitor = Peer::Contact(ContactId(7));
    let first = hub.register(visitor, LOCAL);
    assert!(first.came_online);
    hub.unregister(first.id);
    // The page reloads: a new socket before the grace period ends.
    let second = hub.register(visitor, LOCAL);
    assert!(!second.came_online, "still announced online: no flicker");
    assert!(!hub.went_offline(visitor));
    hub.unregister(second.id);
    assert!(hub.went_offline(visitor));
    assert!(!hub.went_offline(visitor), "announced once");
    assert!(hub.register(visitor, LOCAL).came_online);
}

#[test]
fn the_team_is_online_while_any_agent_socket_is_open() {
    let hub = Hub::new(Arc::default(), 1024 * 1024, typing::EXPIRES);
    let ana = hub.register(Peer::Agent(AgentId(1)), LOCAL);
    let ben = hub.register(Peer::Agent(AgentId(2)), LOCAL);
    assert!(ana.came_online);
    assert!(!ben.came_online);
    hub.unregister(ana.id);
    assert!(!hub.went_offline(Peer::Agent(AgentId(1))));
    hub.unregister(ben.id);
    assert!(hub.went_offline(Peer::Agent(AgentId(2))));
}

#[test]
fn the_team_stays_online_while_its_only_agent_reloads() {
    let hub = Hub::new(Arc::default(), 1024 * 1024, typing::EXPIRES);
    let agent = Peer::Agent(AgentId(1));
    let first = hub.register(agent, LOCAL);
    hub.unregister(first.id);
    // A visitor arriving now is told the team is there: the agent's next
    // socket announces nothing (it never went offline).
    assert!(hub.team_online());
    let second = hub.register(agent, LOCAL);
    assert!(!second.came_online);
    assert!(hub.team_online());
    hub.unregister(second.id);
    assert!(hub.went_offline(agent));
    assert!(!hub.team_online(), "offline once announced so");
}

#[test]
fn sockets_are_counted_per_person_and_per_address() {
    let hub = Hub::new(Arc::default(), 1024 * 1024, typing::EXPIRES);
    let other: IpAddr = "10.0.0.2".parse().unwrap();
    let a = hub.register(Peer::Contact(ContactId(1)), LOCAL);
    let _b = hub.register(Peer::Contact(ContactId(1)), other);
    let _c = hub.register(Peer::Agent(AgentId(1)), LOCAL);
    assert_eq!(hub.sockets_of(Peer::Contact(ContactId(1))), 2);
    assert_eq!(hub.sockets_of(Peer::Agent(AgentId(1))), 1);
    assert_eq!(hub.sockets_from(LOCAL), 2);
    hub.unregister(a.id);
    assert_eq!(hub.sockets_from(LOCAL), 1);
    assert_eq!(hub.sockets_of(Peer::Contact(ContactId(1))), 1);
}

#[tokio::test]
async fn a_hub_that_fell_behind_the_bus_closes_every_socket_to_resume() {
    let hub = Hub::new(Arc::default(), 1024 * 1024, typing::EXPIRES);
    let visitor = hub.register(Peer::Contact(ContactId(1)), LOCAL);
    let agent = hub.register(Peer::Agent(AgentId(1)), LOCAL);
    // The bus runs ahead of the hub by more than it keeps.
    let (bus, events) = broadcast::channel(4);
    for _ in 0..10 {
        bus.send(Event::TeamPresence { online: true }).unwrap();
    }
    drop(bus);
    hub.run(events).await;
    for kick in [&visitor.kick, &agent.kick] {
        assert_eq!(*kick.reason.lock().unwrap(), Some(FELL_BEHIND));
    }
    assert_eq!(hub.metrics.hub_lagged.get(), 6);
}

#[tokio::test]
async fn typing_heard_from_an_instance_that_died_ends_here_too() {
    let hub = Hub::new(Arc::default(), 1024 * 1024, typing::EXPIRES);
    let mut agent = hub.register(Peer::Agent(AgentId(1)), LOCAL);
    let visitor = crate::protocol::Person {
        kind: SenderKind::Contact,
        id: 7,
        name: "Visitor #7".into(),
    };
    let typing = |on| Event::Typing {
        contact_id: ContactId(7),
        conversation_id: ConversationId(3),
        person: visitor.clone(),
        typing: on,
    };
    let frames = |rx: &mut QueueRx| {
        std::iter::from_fn(|| rx.try_recv())
            .map(|bytes| serde_json::from_str::<ServerFrame>(&bytes).unwrap())
            .collect::<Vec<_>>()
    };
    let started = tokio::time::Instant::now();
    hub.deliver(&typing(true));
    assert_eq!(frames(&mut agent.rx).len(), 1);
    // Refreshed in time: still typing.
    hub.expire_typing(started + typing::EXPIRES);
    assert!(frames(&mut agent.rx).is_empty());
    // Its instance died: no refresh, no "stopped" ever comes.
    let slack = std::time::Duration::from_millis(100);
    hub.expire_typing(started + typing::EXPIRES + HEARD_TYPING_MARGIN + slack);
    let ended = frames(&mut agent.rx);
    assert!(
        matches!(&ended[..], [ServerFrame::Typing { typing: false, person, .. }] if *person == visitor),
        "{ended:?}"
    );
    // A "stopped" that did come leaves nothing to end.
    hub.deliver(&typing(true));
    hub.deliver(&typing(false));
    assert_eq!(frames(&mut agent.rx).len(), 2);
    hub.expire_typing(tokio::time::Instant::now() + typing::EXPIRES * 2);
    assert!(frames(&mut agent.rx).is_empty());
}

#[test]
fn a_full_queue_drops_presence_but_cuts_off_on_a_missed_inbox_row() {
    let hub = Hub::new(Arc::default(), 1024 * 1024, typing::EXPIRES);
    let agent = hub.register(Peer::Agent(AgentId(1)), LOCAL);
    let presence = |c| Event::Presence {
        contact_id: ContactId(c),
        online: false,
        last_seen_at: crate::protocol::Timestamp(0),
    };
    // Thousands of visitors leave at once (a restart): more than fits
    // the agent's 4 MiB (each frame about 150 bytes queued).
    let mut c = 0;
    while hub.metrics.queue_drops.get() < 100 {
        hub.deliver(&presence(c));
        c += 1;
        assert!(c < 100_000, "the queue never filled");
    }
    let kicked = |kick: &Kick| kick.reason.lock().unwrap().is_some();
    assert!(
        !kicked(&agent.kick),
        "stale presence is no reason to cut off"
    );
    hub.deliver(&Event::TeamPresence { online: true });
    let row = crate::protocol::ConversationSummary {
        id: ConversationId(1),
        contact_id: ContactId(1),
        contact_name: "Visitor #1".into(),
        contact_email: None,
        status: crate::protocol::ConversationStatus::Open,
        last_message_at: crate::protocol::Timestamp(0),
        last_message_preview: String::new(),
        last_sender: None,
        last_message_id: crate::protocol::MessageId(0),
        unread: 0,
        contact_read_id: crate::protocol::MessageId(0),
        team_read_id: crate::protocol::MessageId(0),
        team_delivered_id: crate::protocol::MessageId(0),
        contact_online: false,
        contact_last_seen_at: crate::protocol::Timestamp(0),
        assistant: Default::default(),
        seq: 0,
        assignee: None,
        snoozed_until: None,
        waiting_since: None,
        rating: None,
        labels: Vec::new(),
        mentions: Vec::new(),
    };
    hub.deliver(&Event::Conversation { conversation: row });
    assert!(kicked(&agent.kick), "a missed inbox row needs a resume");
}
