//! Files in conversations over real HTTP and a real socket: what is
//! accepted (judged by content), pictures made safe, who may download,
//! how downloads are served, and what is removed when.

mod common;

use common::{BinaryResponse, TestServer};
use minicom::protocol::{Attachment, ClientFrame, ClientId, ErrorCode, ServerFrame, Timestamp};
use minicom::server::files::{FileLimits, Files, Part};

/// What an upload answers: the file, as a `send` names it.
trait Uploaded {
    fn attachment(&self) -> Attachment;
}

impl Uploaded for BinaryResponse {
    fn attachment(&self) -> Attachment {
        assert_eq!(self.status, 201, "{}", String::from_utf8_lossy(&self.body));
        serde_json::from_slice(&self.body).expect("an attachment")
    }
}

async fn get(
    server: &TestServer,
    cookie: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> BinaryResponse {
    let mut headers = vec![("Cookie", cookie)];
    headers.extend_from_slice(extra);
    server.http_bytes("GET", path, &headers, b"").await
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = image::DynamicImage::new_rgb8(width, height);
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG photo carrying EXIF metadata with a recognisable "location".
fn photo_with_location() -> Vec<u8> {
    let picture = image::DynamicImage::new_rgb8(640, 480);
    let mut jpeg = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let jpeg = jpeg.into_inner();
    // APP1 "Exif": a big-endian TIFF header with an empty first directory,
    // then the text a location tag would hold.
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0\0\0\0\0".to_vec();
    exif.extend_from_slice(b"GPS 51.5007N 0.1246W SECRET-HOME");
    let len = (exif.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_visitors_photo_reaches_the_team_upright_small_and_without_its_location() {
    let server = TestServer::start().await;
    let (mut visitor, cookie) = server.visitor().await;
    // Before their first message: no conversation yet.
    let photo = server
        .upload(&cookie, None, "IMG 0001.jpg", &photo_with_location())
        .await
        .attachment();
    assert_eq!(photo.content_type, "image/jpeg");
    assert_eq!((photo.width, photo.height), (Some(640), Some(480)));
    assert!(photo.is_image());
    let message = visitor.send_files(None, "", &[&photo.id]).await;
    assert_eq!(message.body, "");
    assert_eq!(message.attachments, std::slice::from_ref(&photo));

    // The team sees it in the thread, and the inbox row says what it is.
    let agent_cookie = server.agent_cookie().await;
    let mut agent = server.connect(&agent_cookie, "agent").await;
    agent.hello().await;
    let history = agent.open(message.conversation_id).await;
    assert_eq!(
        history.last().unwrap().attachments,
        std::slice::from_ref(&photo)
    );

    let thumb = get(&server, &agent_cookie, &photo.thumb_url(), &[]).await;
    assert_eq!(thumb.status, 200);
    let small = image::load_from_memory(&thumb.body).expect("a picture");
    assert_eq!(
        (small.width(), small.height()),
        (480, 360),
        "aspect ratio kept"
    );

    let full = get(&server, &agent_cookie, &photo.url(), &[]).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.header("content-type"), Some("image/jpeg"));
    assert_eq!(full.header("x-content-type-options"), Some("nosniff"));
    assert!(
        full.header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
    assert!(
        full.header("content-disposition")
            .unwrap()
            .starts_with("inline")
    );
    assert!(full.header("cache-control").unwrap().contains("immutable"));
    assert_eq!(full.body.len() as u64, photo.size);
    assert!(image::load_from_memory(&full.body).is_ok());
    assert!(
        !contains(&full.body, b"SECRET-HOME"),
        "the photo's metadata was stripped"
    );

    // The visitor downloads their own photo too.
    assert_eq!(get(&server, &cookie, &photo.url(), &[]).await.status, 200);
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_not_the_name() {
    let server = TestServer::start().await;
    let (_visitor, cookie) = server.visitor().await;
    // A picture named like a program is a picture.
    let renamed = server
        .upload(&cookie, None, "holiday.exe", &png(40, 30))
        .await
        .attachment();
    assert_eq!(renamed.content_type, "image/png");
    // A web page named like a picture is refused, and says why.
    let page = server
        .upload(
            &cookie,
            None,
            "cat.png",
            b"<html><body><script>alert(document.cookie)</script></body></html>",
        )
        .await;
    assert_eq!(page.status, 415);
    assert_eq!(page.json()["code"], "type_not_allowed");
    assert!(page.json()["message"].as_str().unwrap().contains("HTML"));
    // A program is refused whatever it is called.
    let program = server
        .upload(
            &cookie,
            None,
            "invoice.pdf",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0",
        )
        .await;
    assert_eq!(program.status, 415);
    // Text, a PDF: kept, and offered as downloads.
    let text = server
        .upload(&cookie, None, "notes.txt", "Order #1234\nthanks".as_bytes())
        .await
        .attachment();
    assert_eq!(text.content_type, "text/plain");
    let served = get(&server, &cookie, &text.url(), &[]).await;
    assert_eq!(
        served.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        served
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    let pdf = server
        .upload(
            &cookie,
            None,
            "invoice.pdf",
            b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
        )
        .await
        .attachment();
    assert_eq!(pdf.content_type, "application/pdf");
    // An empty file is nothing to send.
    assert_eq!(
        server.upload(&cookie, None, "empty.txt", b"").await.status,
        400
    );
    // No name, no upload (and no form on another site can set the header).
    let nameless = server
        .http_bytes("POST", "/files", &[("Cookie", &cookie)], b"hello")
        .await;
    assert_eq!(nameless.status, 400);
}

/// PNG bytes of a small picture whose header claims `width` × `height`:
/// what a decompression bomb looks like before it is decoded.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(16, 16);
    // The IHDR chunk starts at byte 8: length, "IHDR", width, height, …, CRC.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip archive whose one entry claims to unpack to 4 GiB.
fn zip_bomb() -> Vec<u8> {
    let data = vec![0u8; 64];
    let name = b"huge.bin";
    let mut zip = Vec::new();
    zip.extend_from_slice(b"PK\x03\x04\x14\0\0\0\x08\0\0\0\0\0");
    zip.extend_from_slice(&0u32.to_le_bytes()); // crc
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    zip.extend_from_slice(&u32::MAX.to_le_bytes()); // unpacked size
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(name);
    zip.extend_from_slice(&data);
    let central = zip.len() as u32;
    zip.extend_from_slice(b"PK\x01\x02\x14\0\x14\0\0\0\x08\0\0\0\0\0");
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
    zip.extend_from_slice(&u32::MAX.to_le_bytes());
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&[0; 12]);
    zip.extend_from_slice(&0u32.to_le_bytes());
    zip.extend_from_slice(name);
    let central_len = zip.len() as u32 - central;
    zip.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
    zip.extend_from_slice(&central_len.to_le_bytes());
    zip.extend_from_slice(&central.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

#[tokio::test]
async fn limits_on_size_canvas_count_and_rate() {
    let server = TestServer::start_configured(|c| {
        c.files.limits = FileLimits {
            max_bytes: 64 * 1024,
            per_minute: 4,
            ..FileLimits::default()
        }
    })
    .await;
    let (_visitor, cookie) = server.visitor().await;
    let big = vec![b'a'; 64 * 1024 + 1];
    let too_big = server.upload(&cookie, None, "big.txt", &big).await;
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.json()["code"], "too_big");
    assert!(
        too_big.json()["message"]
            .as_str()
            .unwrap()
            .contains("64.0 KB")
    );

    // A small file claiming a 20,000-pixel canvas is refused before it is
    // decoded.
    let bomb = server
        .upload(&cookie, None, "bomb.png", &png_claiming(20_000, 20_000))
        .await;
    assert_eq!(bomb.status, 400);
    assert_eq!(bomb.json()["code"], "picture_too_large");
    assert!(
        bomb.json()["message"]
            .as_str()
            .unwrap()
            .contains("20000 × 20000")
    );

    // A zip bomb is kept as the few bytes it is: nothing ever unpacks it.
    let zip = zip_bomb();
    let kept = server
        .upload(&cookie, None, "archive.zip", &zip)
        .await
        .attachment();
    assert_eq!(kept.content_type, "application/zip");
    assert_eq!(kept.size, zip.len() as u64);
    let served = get(&server, &cookie, &kept.url(), &[]).await;
    assert_eq!(served.body, zip);
    assert!(
        served
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );

    // Per person per minute: the fourth stored file (the zip was the
    // first) is the last.
    server
        .upload(&cookie, None, "a.txt", b"one")
        .await
        .attachment();
    server
        .upload(&cookie, None, "b.txt", b"two")
        .await
        .attachment();
    server
        .upload(&cookie, None, "c.txt", b"three")
        .await
        .attachment();
    let fifth = server.upload(&cookie, None, "e.txt", b"five").await;
    assert_eq!(fifth.status, 429);
    assert_eq!(fifth.json()["code"], "rate_limited");
    // Someone else is not held back by it.
    let (_other_visitor, other) = server.visitor().await;
    server
        .upload(&other, None, "d.txt", b"four")
        .await
        .attachment();
}

#[tokio::test]
async fn only_the_people_of_the_conversation_see_its_files() {
    let server = TestServer::start().await;
    let (mut ana, ana_cookie) = server.visitor().await;
    let first = ana.say(None, "hello").await;
    let conversation = ana
        .expect(|f| match f {
            ServerFrame::Ack { client_id, message } if client_id == first => {
                Some(message.conversation_id)
            }
            _ => None,
        })
        .await;
    let receipt = server
        .upload(
            &ana_cookie,
            Some(conversation),
            "receipt.pdf",
            b"%PDF-1.4\n%%EOF\n",
        )
        .await
        .attachment();
    let (mut bob, bob_cookie) = server.visitor().await;
    // Unsent: only Ana. Bob cannot fetch it, nor send it as his own.
    let missing = get(&server, &bob_cookie, &receipt.url(), &[]).await;
    assert_eq!(missing.status, 404);
    let nothing = get(
        &server,
        &bob_cookie,
        "/files/0123456789abcdef0123456789abcdef/x.pdf",
        &[],
    )
    .await;
    assert_eq!(
        (nothing.status, nothing.body.clone()),
        (404, missing.body.clone()),
        "a stranger's file looks like none"
    );
    bob.send(&ClientFrame::Send {
        conversation_id: None,
        client_id: ClientId::new(),
        body: "look".into(),
        new_conversation: false,
        note: false,
        attachments: vec![receipt.id.clone()],
    })
    .await;
    assert_eq!(bob.refused().await.0, ErrorCode::UnknownAttachment);
    // Bob cannot upload into Ana's conversation either.
    let intrude = server
        .upload(&bob_cookie, Some(conversation), "x.txt", b"hi")
        .await;
    assert_eq!(intrude.status, 404);
    // Signed out: nothing.
    assert_eq!(get(&server, "", &receipt.url(), &[]).await.status, 404);

    // Sent: the team sees it; Bob still does not.
    let sent = ana
        .send_files(Some(conversation), "my receipt", &[&receipt.id])
        .await;
    assert_eq!(sent.attachments, std::slice::from_ref(&receipt));
    let agent_cookie = server.agent_cookie().await;
    assert_eq!(
        get(&server, &agent_cookie, &receipt.url(), &[])
            .await
            .status,
        200
    );
    assert_eq!(
        get(&server, &bob_cookie, &receipt.url(), &[]).await.status,
        404
    );
    // Sent once; it cannot go again with another message.
    ana.send(&ClientFrame::Send {
        conversation_id: Some(conversation),
        client_id: ClientId::new(),
        body: "again".into(),
        new_conversation: false,
        note: false,
        attachments: vec![receipt.id.clone()],
    })
    .await;
    let code = ana
        .expect(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .await;
    assert_eq!(code, ErrorCode::UnknownAttachment);

    // A file in the team's note is the team's only.
    let mut agent = server.connect(&agent_cookie, "agent").await;
    agent.hello().await;
    let internal = server
        .upload(
            &agent_cookie,
            Some(conversation),
            "internal.txt",
            b"margin 40%",
        )
        .await
        .attachment();
    let note_id = ClientId::new();
    agent
        .send(&ClientFrame::Send {
            conversation_id: Some(conversation),
            client_id: note_id,
            body: "for us".into(),
            new_conversation: false,
            note: true,
            attachments: vec![internal.id.clone()],
        })
        .await;
    agent
        .expect(|f| {
            matches!(f, ServerFrame::Ack { client_id, .. } if client_id == note_id).then_some(())
        })
        .await;
    assert_eq!(
        get(&server, &agent_cookie, &internal.url(), &[])
            .await
            .status,
        200
    );
    assert_eq!(
        get(&server, &ana_cookie, &internal.url(), &[]).await.status,
        404
    );
}

#[tokio::test]
async fn downloads_come_in_ranges_and_are_cached_by_etag() {
    let server = TestServer::start().await;
    let (mut visitor, cookie) = server.visitor().await;
    let text: Vec<u8> = (0..5_000).map(|i| b"abcdefghij"[i % 10]).collect();
    let file = server
        .upload(&cookie, None, "log.txt", &text)
        .await
        .attachment();
    visitor.send_files(None, "the log", &[&file.id]).await;

    let whole = get(&server, &cookie, &file.url(), &[]).await;
    assert_eq!(whole.body, text);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let etag = whole.header("etag").unwrap().to_owned();

    let part = get(&server, &cookie, &file.url(), &[("Range", "bytes=10-19")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 10-19/5000"));
    assert_eq!(part.body, &text[10..20]);
    let tail = get(&server, &cookie, &file.url(), &[("Range", "bytes=-5")]).await;
    assert_eq!(tail.body, &text[4995..]);
    let beyond = get(&server, &cookie, &file.url(), &[("Range", "bytes=9000-")]).await;
    assert_eq!(beyond.status, 416);
    assert_eq!(beyond.header("content-range"), Some("bytes */5000"));

    let again = get(&server, &cookie, &file.url(), &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
}

#[tokio::test]
async fn unsent_uploads_go_after_an_hour_and_deleted_messages_take_their_files() {
    let server = TestServer::start().await;
    let (mut visitor, cookie) = server.visitor().await;
    let kept = server
        .upload(&cookie, None, "kept.txt", b"sent with a message")
        .await
        .attachment();
    let forgotten = server
        .upload(&cookie, None, "forgotten.txt", b"never sent")
        .await
        .attachment();
    let message = visitor.send_files(None, "", &[&kept.id]).await;

    // The sweep as it runs an hour later (the clock is the argument).
    let store = server.store();
    let files = Files::new(
        Files::default_storage(store, &server.database_url),
        FileLimits::default(),
    );
    let an_hour_on = Timestamp(minicom::server::store::now().0 + 3_600_001);
    assert_eq!(files.sweep(store, an_hour_on).await.unwrap(), 1);
    assert_eq!(
        get(&server, &cookie, &forgotten.url(), &[]).await.status,
        404
    );
    assert_eq!(
        files.storage.size(&forgotten.id, Part::File).await.unwrap(),
        None
    );
    assert_eq!(get(&server, &cookie, &kept.url(), &[]).await.status, 200);

    // Deleting the message deletes its file.
    visitor
        .send(&ClientFrame::Delete {
            message_id: message.id,
        })
        .await;
    let deleted = visitor
        .expect(|f| match f {
            ServerFrame::Changed { message: m } if m.id == message.id && m.deleted => Some(m),
            _ => None,
        })
        .await;
    assert!(deleted.attachments.is_empty());
    assert_eq!(get(&server, &cookie, &kept.url(), &[]).await.status, 404);
    // The bytes went before the deletion was announced.
    assert_eq!(
        files.storage.size(&kept.id, Part::File).await.unwrap(),
        None
    );
    assert_eq!(
        files.storage.size(&kept.id, Part::Thumb).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_resent_message_with_files_is_stored_once_and_transcripts_list_files() {
    let server = TestServer::start().await;
    let (mut visitor, cookie) = server.visitor().await;
    let file = server
        .upload(&cookie, None, "order 42.pdf", b"%PDF-1.4\n%%EOF\n")
        .await
        .attachment();
    let client_id = ClientId::new();
    let frame = ClientFrame::Send {
        conversation_id: None,
        client_id,
        body: "here it is".into(),
        new_conversation: false,
        note: false,
        attachments: vec![file.id.clone()],
    };
    visitor.send(&frame).await;
    visitor.send(&frame).await;
    let mut acks = Vec::new();
    while acks.len() < 2 {
        acks.push(
            visitor
                .expect(|f| match f {
                    ServerFrame::Ack { message, .. } => Some(message),
                    ServerFrame::Error { code, message, .. } => {
                        panic!("refused: {code:?} {message}")
                    }
                    _ => None,
                })
                .await,
        );
    }
    assert_eq!(acks[0].id, acks[1].id, "stored once");
    assert_eq!(acks[1].attachments, std::slice::from_ref(&file));

    let transcript = get(
        &server,
        &cookie,
        &format!("/messenger/transcript/{}", acks[0].conversation_id.0),
        &[],
    )
    .await;
    let text = String::from_utf8(transcript.body).unwrap();
    assert!(
        text.contains(&format!("[file: order 42.pdf (PDF, 15 B) {}]", file.url())),
        "{text}"
    );
}

#[tokio::test]
async fn every_instance_serves_every_file() {
    // On PostgreSQL (MINICOM_TEST_ENGINE=postgres) the bytes are in the
    // database; on SQLite in the folder beside it: either way the second
    // instance reaches what the first stored.
    let first = TestServer::start().await;
    let second = TestServer::start_beside(&first, |_| {}).await;
    let (mut visitor, cookie) = first.visitor().await;
    let photo = first
        .upload(&cookie, None, "shelf.png", &png(300, 150))
        .await
        .attachment();
    visitor.send_files(None, "the shelf", &[&photo.id]).await;
    let thumb = get(&second, &cookie, &photo.thumb_url(), &[]).await;
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    let full = get(&second, &cookie, &photo.url(), &[]).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.body.len() as u64, photo.size);
    second.stop().await;
}

#[tokio::test]
async fn a_browser_signed_in_to_the_inbox_uploads_as_the_page_it_is_on() {
    let server = TestServer::start().await;
    let (mut visitor, visitor_cookie) = server.visitor().await;
    let agent_cookie = server.agent_cookie().await;
    // One browser, both cookies: the messenger says it speaks as the visitor.
    let both = format!("{visitor_cookie}; {agent_cookie}");
    let answer = server
        .http_bytes(
            "POST",
            "/files?role=visitor",
            &[("Cookie", &both), ("X-File-Name", "note.txt")],
            b"from my own messenger",
        )
        .await
        .attachment();
    let message = visitor.send_files(None, "", &[&answer.id]).await;
    assert_eq!(message.attachments, std::slice::from_ref(&answer));
    // As the agent, without a conversation, it is refused for want of one.
    let as_agent = server
        .http_bytes(
            "POST",
            "/files?role=agent",
            &[("Cookie", &both), ("X-File-Name", "note.txt")],
            b"from the inbox",
        )
        .await;
    assert_eq!(as_agent.status, 400);
    assert_eq!(as_agent.json()["code"], "conversation_required");
}
