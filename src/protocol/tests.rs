//! The wire format's round trips and the input checks.

use super::*;

#[test]
fn send_frame_round_trips_with_snake_case_tag() {
    let frame = ClientFrame::Send {
        conversation_id: Some(ConversationId(7)),
        client_id: ClientId(Uuid::nil()),
        body: "Hello".into(),
        new_conversation: false,
        note: false,
        attachments: Vec::new(),
    };
    let json = serde_json::to_string(&frame).unwrap();
    assert_eq!(
        json,
        r#"{"type":"send","conversation_id":7,"client_id":"00000000-0000-0000-0000-000000000000","body":"Hello"}"#
    );
    assert_eq!(ClientFrame::decode(&json).unwrap(), frame);
}

#[test]
fn frame_kinds_are_the_wire_types() {
    let tag = |value: serde_json::Value| value["type"].as_str().unwrap().to_owned();
    let client = [
        ClientFrame::Ping,
        ClientFrame::Open {
            conversation_id: ConversationId(1),
        },
        ClientFrame::MoreConversations {
            view: InboxView::Mine,
            sort: InboxSort::Waiting,
            after: Some((1, 1)),
            label: None,
        },
        ClientFrame::SetStatus {
            conversation_id: ConversationId(1),
            status: ConversationStatus::Snoozed,
            until: Some(Timestamp(1)),
            time_zone: None,
        },
        ClientFrame::Label {
            conversation_id: ConversationId(1),
            label_id: LabelId(2),
            on: true,
        },
        ClientFrame::Visit {
            time_zone: Some("Europe/Paris".into()),
            page: None,
        },
    ];
    for frame in client {
        assert!(ClientFrame::KNOWN_TYPES.contains(&frame.kind()));
        assert_eq!(frame.kind(), tag(serde_json::to_value(&frame).unwrap()));
    }
    let server = [
        ServerFrame::Pong,
        ServerFrame::TeamPresence { online: true },
        ServerFrame::Labels { labels: Vec::new() },
        ProtocolError::EmptyBody.to_frame(None),
    ];
    for frame in server {
        assert_eq!(frame.kind(), tag(serde_json::to_value(&frame).unwrap()));
    }
}

#[test]
fn visitor_send_may_omit_the_conversation() {
    let frame = ClientFrame::decode(
        r#"{"type":"send","client_id":"00000000-0000-0000-0000-000000000001","body":"hi"}"#,
    )
    .unwrap();
    assert!(matches!(
        frame,
        ClientFrame::Send {
            conversation_id: None,
            ..
        }
    ));
}

#[test]
fn decode_tells_bad_json_from_unknown_type_from_missing_fields() {
    assert_eq!(
        ClientFrame::decode("{nope").unwrap_err().code(),
        ErrorCode::InvalidJson
    );
    assert_eq!(
        ClientFrame::decode(r#"{"type":"dance"}"#)
            .unwrap_err()
            .code(),
        ErrorCode::UnknownType
    );
    assert_eq!(
        ClientFrame::decode(r#"{"type":"send","body":"x"}"#)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidFrame
    );
    assert_eq!(
        ClientFrame::decode(r#"[1,2]"#).unwrap_err().code(),
        ErrorCode::InvalidFrame
    );
}

#[test]
fn unknown_type_in_error_is_shortened() {
    let long = "x".repeat(10_000);
    let err = ClientFrame::decode(&format!(r#"{{"type":"{long}"}}"#)).unwrap_err();
    assert!(err.to_string().len() < 200);
}

#[test]
fn server_frames_serialise_with_their_type() {
    let pong = serde_json::to_string(&ServerFrame::Pong).unwrap();
    assert_eq!(pong, r#"{"type":"pong"}"#);
    let err = serde_json::to_value(ProtocolError::EmptyBody.to_frame(None)).unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "empty_body");
    assert!(err.get("client_id").is_none());
}

#[test]
fn a_reaction_is_one_emoji() {
    for ok in QUICK_REACTIONS {
        assert_eq!(validate_reaction(ok).unwrap(), ok);
    }
    // A family emoji is several code points but one grapheme.
    assert!(validate_reaction("👨‍👩‍👧").is_ok());
    assert!(validate_reaction("👍🏽").is_ok());
    assert!(validate_reaction("1️⃣").is_ok(), "a keycap");
    assert!(validate_reaction("🇳🇴").is_ok(), "a flag");
    for bad in ["", "a", "👍👍", "ab", " ", "1", "é", "\u{7}", "👍 "] {
        assert_eq!(
            validate_reaction(bad).unwrap_err(),
            ProtocolError::InvalidReaction,
            "{bad:?}"
        );
    }
    // One grapheme, but far too long (a base with hundreds of accents).
    let zalgo = format!("😀{}", "\u{301}".repeat(40));
    assert!(validate_reaction(&zalgo).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]

    /// Any text at all: decoding answers, never panics.
    #[test]
    fn decoding_any_text_never_panics(text in "\\PC*") {
        let _ = ClientFrame::decode(&text);
    }

    /// Frames with a known type but hostile fields: a frame or a clear error.
    #[test]
    fn hostile_fields_are_answered(
        kind in proptest::sample::select(ClientFrame::KNOWN_TYPES),
        text in "[\\u{0}-\\u{10FFFF}]{0,64}",
        number in proptest::num::f64::ANY,
        id in proptest::num::i64::ANY,
    ) {
        let frame = serde_json::json!({
            "type": kind,
            "conversation_id": id,
            "message_id": number,
            "client_id": text,
            "body": text,
            "emoji": text,
            "up_to": id,
            "typing": number,
        });
        match ClientFrame::decode(&frame.to_string()) {
            // What decodes means what it says: it encodes back to itself.
            Ok(decoded) => {
                let again = ClientFrame::decode(&serde_json::to_string(&decoded).unwrap());
                proptest::prop_assert_eq!(again, Ok(decoded));
            }
            // A known type with bad fields is a malformed frame, never
            // mistaken for bad JSON or an unknown type.
            Err(err) => proptest::prop_assert_eq!(err.code(), ErrorCode::InvalidFrame),
        }
        let _ = validate_body(&text);
        let _ = validate_reaction(&text);
    }
}

#[test]
fn deep_nesting_and_huge_numbers_are_refused_cleanly() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        ClientFrame::decode(&deep).unwrap_err().code(),
        ErrorCode::InvalidJson
    );
    let huge = r#"{"type":"open","conversation_id":1e400}"#;
    assert!(ClientFrame::decode(huge).is_err());
    let big_int = r#"{"type":"open","conversation_id":99999999999999999999999}"#;
    assert_eq!(
        ClientFrame::decode(big_int).unwrap_err().code(),
        ErrorCode::InvalidFrame
    );
    let bidi = "\u{202e}\u{200b}hello\u{2066}";
    assert_eq!(validate_body(bidi).unwrap(), bidi);
    assert!(validate_reaction("\u{200b}").is_err());
}

#[test]
fn body_rules() {
    assert_eq!(validate_body("  hi \n").unwrap(), "hi");
    assert_eq!(
        validate_body(" \n\t ").unwrap_err(),
        ProtocolError::EmptyBody
    );
    assert!(validate_body(&"é".repeat(MAX_BODY_CHARS)).is_ok());
    assert_eq!(
        validate_body(&"a".repeat(MAX_BODY_CHARS + 1)).unwrap_err(),
        ProtocolError::BodyTooLong(MAX_BODY_CHARS + 1)
    );
}

#[test]
fn profile_fields_are_trimmed_and_bounded() {
    assert_eq!(
        clean_profile_field("name", Some("  Ana ".into())).unwrap(),
        Some("Ana".into())
    );
    assert_eq!(
        clean_profile_field("name", Some("   ".into())).unwrap(),
        None
    );
    assert!(clean_profile_field("name", Some("a\nb".into())).is_err());
    assert!(clean_profile_field("name", Some("x".repeat(MAX_PROFILE_CHARS + 1))).is_err());
}

#[test]
fn email_shape() {
    assert!(looks_like_email("ana@example.com"));
    assert!(!looks_like_email("ana"));
    assert!(!looks_like_email("@example.com"));
    assert!(!looks_like_email("a b@example.com"));
}
