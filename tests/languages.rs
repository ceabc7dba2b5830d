//! The messenger in the visitor's language, over real HTTP and sockets: the
//! server-rendered page, the widget's labels, the language the team sees,
//! and what a refusal says (the assistant's lines: tests/assistant.rs).

mod common;

use common::TestServer;
use minicom::i18n::Locale;

/// `/messenger` as a browser with these languages asks for it.
async fn messenger_page(server: &TestServer, path: &str, languages: &str) -> String {
    let page = server
        .http("GET", path, &[("Accept-Language", languages)], "")
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    page.text()
}

#[tokio::test]
async fn a_spanish_browser_gets_the_messenger_in_spanish_unless_the_site_names_another() {
    let server = TestServer::start().await;

    let page = server
        .http("GET", "/messenger", &[("Accept-Language", "es")], "")
        .await;
    assert!(
        page.headers
            .iter()
            .any(|(name, value)| name == "vary" && value.contains("Accept-Language")),
        "a cache must keep one copy per language: {:?}",
        page.headers
    );
    let spanish = messenger_page(&server, "/messenger", "es-ES,es;q=0.9,en;q=0.8").await;
    assert!(spanish.contains(r#"<html lang="es""#), "{spanish}");
    assert!(
        spanish.contains("Escribe un mensaje…"),
        "the composer's placeholder"
    );
    assert!(spanish.contains("Buscar ayuda"), "the help search");
    assert!(
        !spanish.contains("Write a message"),
        "no English left in the composer"
    );

    // The embedding site's choice wins over the browser's.
    let french = messenger_page(&server, "/messenger?embed=1&lang=fr", "es-ES,es").await;
    assert!(french.contains(r#"<html lang="fr""#));
    assert!(french.contains("Écrivez un message…"));

    // A language Minicom does not speak: the browser's next one, else English.
    let japanese = messenger_page(&server, "/messenger", "ja-JP,ja;q=0.9,de;q=0.5").await;
    assert!(japanese.contains(r#"<html lang="de""#));
    let english = messenger_page(&server, "/messenger?lang=tlh", "ja").await;
    assert!(english.contains(r#"<html lang="en""#));
    assert!(english.contains("Write a message…"));

    // The demo site around the bubble stays English; the bubble's messenger
    // learns the visitor's language from the page's meta.
    let demo = messenger_page(&server, "/", "pt-BR,pt").await;
    assert!(demo.contains(r#"<html lang="en""#));
    assert!(demo.contains(r#"<meta name="minicom-language" content="pt""#));

    // The inbox stays in the team's English for a Spanish browser.
    let inbox = messenger_page(&server, "/inbox", "es-ES,es").await;
    assert!(inbox.contains(r#"<html lang="en""#));
    assert!(inbox.contains("Sign in"));
}

#[tokio::test]
async fn the_launcher_on_another_site_speaks_the_visitors_language() {
    let server = TestServer::start().await;
    let look = server
        .http(
            "GET",
            "/widget/look",
            &[("Accept-Language", "de-DE,de;q=0.9")],
            "",
        )
        .await;
    assert_eq!(look.header("vary"), Some("Accept-Language"));
    let look: serde_json::Value = serde_json::from_str(&look.text()).expect("JSON");
    assert_eq!(look["labels"]["open"], "Chat öffnen");
    assert_eq!(look["labels"]["unread"], "Chat öffnen ({count} ungelesen)");
    assert_eq!(look["labels"]["unread_one"], "Chat öffnen (1 ungelesen)");
    assert!(look["brand_colour"].is_string(), "the look is still there");

    let named = server
        .http(
            "GET",
            "/widget/look?lang=pt",
            &[("Accept-Language", "de")],
            "",
        )
        .await;
    let named: serde_json::Value = serde_json::from_str(&named.text()).expect("JSON");
    assert_eq!(named["labels"]["close"], "Fechar o chat");
}

#[tokio::test]
async fn the_team_sees_the_visitors_language_and_a_refusal_keeps_its_code() {
    let server = TestServer::start().await;
    let cookie = server.visitor_cookie().await;
    // The messenger names its language on the socket, as the browser's does.
    let mut visitor = server.connect(&cookie, "visitor&lang=es").await;
    visitor.hello().await;
    let conversation = visitor.first_message("Hola, ¿hacéis envíos a Chile?").await;

    let agent = server.agent_cookie().await;
    let panel = server.contact_panel(&agent, conversation).await;
    assert_eq!(panel.language.as_deref(), Some("Spanish"));

    // A later socket that names none keeps what is known.
    let mut again = server.connect(&cookie, "visitor").await;
    again.hello().await;
    let panel = server.contact_panel(&agent, conversation).await;
    assert_eq!(panel.language.as_deref(), Some("Spanish"));

    // A refusal keeps its code: the browser puts it in the visitor's words.
    visitor.say(Some(conversation), "   ").await;
    let code = visitor
        .expect(|f| match f {
            minicom::protocol::ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .await;
    assert_eq!(
        Locale::Es.refusal(code, "server sentence"),
        "Escribe algo primero: el mensaje está vacío."
    );
    // English visitors keep the server's own, fuller sentence.
    assert_eq!(
        Locale::En.refusal(code, "server sentence"),
        "server sentence"
    );
}
