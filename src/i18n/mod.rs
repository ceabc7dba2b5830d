//! The messenger's own words in the visitor's language: Fluent catalogues
//! (one `.ftl` file per language in this folder, compiled in), the
//! language chosen from the browser's (`Accept-Language`) unless the
//! embedding site names one, and dates written the reader's way.
//!
//! Only the visitor's side speaks other languages: the inbox stays in
//! English (the shared components read the [`Locale`] of the page's live
//! state, which is English on the team's pages). A message missing from a catalogue falls back to
//! English, never to an empty or broken page; a unit test fails the run
//! when any catalogue lacks one, or when the code asks for one that no
//! catalogue has.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

pub use fluent_bundle::FluentValue as Arg;

/// A language the messenger speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Locale {
    #[default]
    En,
    Es,
    Fr,
    De,
    Pt,
}

/// The query parameter that names the messenger's language
/// (`/messenger?lang=es`; widget.js sets it from the site's `language`).
pub const QUERY: &str = "lang";

/// The `<meta>` that tells the browser's code which language the server
/// chose for the messenger (the page's own `lang` may be another: the
/// demo site around the bubble is English).
pub const META: &str = "minicom-language";

impl Locale {
    pub const ALL: [Locale; 5] = [Self::En, Self::Es, Self::Fr, Self::De, Self::Pt];

    /// The language's tag, as in `lang="es"`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
            Self::Fr => "fr",
            Self::De => "de",
            Self::Pt => "pt",
        }
    }

    /// The language's name in English: the assistant's instructions and
    /// the team's contact panel name it so.
    pub fn english_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Es => "Spanish",
            Self::Fr => "French",
            Self::De => "German",
            Self::Pt => "Portuguese",
        }
    }

    /// A language tag ("es", "pt-BR", "FR") → the language, by its primary
    /// subtag; `None` for one the messenger does not speak.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Self::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }

    /// The first language of an `Accept-Language` header (by quality, then
    /// order) that the messenger speaks; English when none is.
    pub fn negotiate(accept_language: &str) -> Locale {
        let mut best: Option<(f32, Locale)> = None;
        // Bounded: a header of thousands of entries costs no more than 32.
        for entry in accept_language.split(',').take(32) {
            let mut parts = entry.split(';');
            let Some(locale) = parts.next().and_then(Locale::from_tag) else {
                continue;
            };
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite() && *q > 0.0);
            if let Some(q) = quality
                && best.is_none_or(|(b, _)| q > b)
            {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    /// The language asked for by name (`?lang=`), else the browser's.
    pub fn choose(asked: Option<&str>, accept_language: Option<&str>) -> Locale {
        asked
            .and_then(Locale::from_tag)
            .unwrap_or_else(|| accept_language.map(Locale::negotiate).unwrap_or_default())
    }

    /// The message `key` in this language.
    pub fn t(self, key: &str) -> String {
        self.t_with(key, &[])
    }

    /// The message `key` with its variables filled in.
    pub fn t_with(self, key: &str, args: &[(&str, Arg)]) -> String {
        format(self, key, args)
            .or_else(|| format(Locale::En, key, args))
            // Never an empty page: the key itself says what is missing.
            .unwrap_or_else(|| key.to_owned())
    }
}

impl Locale {
    /// What the server refused, in the visitor's words (the server's own
    /// sentence, English and for developers, when there is no better one).
    pub fn refusal(self, code: crate::protocol::ErrorCode, server_said: &str) -> String {
        use crate::protocol::ErrorCode as E;
        let key = match code {
            E::EmptyBody => "refused-empty",
            E::BodyTooLong => "refused-too-long",
            E::RateLimited => "refused-too-fast",
            E::TooManyConversations => "refused-too-many-conversations",
            E::StorageFull => "refused-storage-full",
            E::Internal => "refused-server",
            E::EditWindowClosed | E::MessageDeleted => "refused-edit-window",
            E::InvalidProfile => "refused-profile",
            E::TooManyAttachments | E::UnknownAttachment => "refused-files",
            E::NotYours => "refused-not-yours",
            E::Forbidden => "refused-forbidden",
            E::UnsupportedFrame | E::InvalidJson | E::UnknownType | E::InvalidFrame => {
                "refused-server"
            }
            // What this visitor may not do here (a reaction, a rating, the
            // assistant switched off): trying again will not help.
            _ => "refused-not-possible",
        };
        if self == Locale::En {
            // English visitors keep the server's sentence: it often says
            // more (how long is too long, when to try again).
            return server_said.to_owned();
        }
        self.t(key)
    }
}

impl Locale {
    /// Why an upload was refused (the `code` of `POST /files`'s answer),
    /// in the visitor's words; English keeps the server's sentence, which
    /// names the limits.
    pub fn file_refusal(self, code: &str, server_said: &str) -> String {
        let key = match code {
            "too_big" => "file-too-big",
            "type_not_allowed" => "file-type-not-allowed",
            "empty" => "file-empty",
            "picture_too_large" => "file-picture-too-large",
            "picture_unreadable" => "file-picture-unreadable",
            "rate_limited" => "refused-too-fast",
            "conversation_full" => "file-conversation-full",
            "blocked" => "refused-blocked",
            _ => "refused-server",
        };
        if self == Locale::En {
            return server_said.to_owned();
        }
        self.t(key)
    }
}

fn catalogue(locale: Locale) -> &'static str {
    match locale {
        Locale::En => include_str!("en.ftl"),
        Locale::Es => include_str!("es.ftl"),
        Locale::Fr => include_str!("fr.ftl"),
        Locale::De => include_str!("de.ftl"),
        Locale::Pt => include_str!("pt.ftl"),
    }
}

type Bundle = FluentBundle<FluentResource>;

/// Each language's bundle, parsed once on first use.
fn bundle(locale: Locale) -> &'static Bundle {
    static BUNDLES: [OnceLock<Bundle>; Locale::ALL.len()] =
        [const { OnceLock::new() }; Locale::ALL.len()];
    let at = Locale::ALL.iter().position(|l| *l == locale).unwrap_or(0);
    BUNDLES[at].get_or_init(|| {
        let id = locale.tag().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // No invisible isolation marks around names: screen readers and
        // `aria-label`s get the plain words.
        bundle.set_use_isolating(false);
        // A syntax error keeps the entries that parsed (the test names it).
        let resource = FluentResource::try_new(catalogue(locale).to_owned())
            .unwrap_or_else(|(partial, _)| partial);
        let _ = bundle.add_resource(resource);
        bundle
    })
}

fn format(locale: Locale, key: &str, args: &[(&str, Arg)]) -> Option<String> {
    let bundle = bundle(locale);
    let pattern = bundle.get_message(key)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    errors.is_empty().then(|| text.into_owned())
}

/// The Leptos side: the language in context for the messenger's components.
pub mod context {
    use super::Locale;
    use leptos::prelude::*;

    /// The language of the words the components draw: the page's live
    /// state's (the visitor's on the messenger, English for the team).
    pub fn words() -> Locale {
        use_context::<crate::client::live::Live>()
            .map(|live| live.words)
            .unwrap_or_default()
    }

    /// The language the server chose for this page's messenger (`<meta
    /// name="minicom-language">` in the browser, the request on the server).
    pub fn chosen() -> Locale {
        #[cfg(feature = "ssr")]
        {
            use_context::<axum::http::request::Parts>()
                .map(|parts| of_request(&parts))
                .unwrap_or_default()
        }
        #[cfg(not(feature = "ssr"))]
        {
            #[cfg(feature = "hydrate")]
            {
                leptos::web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| {
                        d.query_selector(&format!("meta[name=\"{}\"]", super::META))
                            .ok()
                            .flatten()
                    })
                    .and_then(|m| m.get_attribute("content"))
                    .and_then(|tag| Locale::from_tag(&tag))
                    .unwrap_or_default()
            }
            #[cfg(not(feature = "hydrate"))]
            Locale::default()
        }
    }

    /// `?lang=` on the page's address, else the browser's languages.
    #[cfg(feature = "ssr")]
    pub fn of_request(parts: &axum::http::request::Parts) -> Locale {
        let asked = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| *name == super::QUERY)
                .map(|(_, value)| value)
        });
        let accepted = parts
            .headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Locale::choose(asked, accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_bundle::FluentResource;
    use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};
    use std::collections::BTreeSet;

    /// A message's id and the variables it uses.
    fn messages(locale: Locale) -> Vec<(String, BTreeSet<String>)> {
        let resource = match FluentResource::try_new(catalogue(locale).to_owned()) {
            Ok(r) => r,
            Err((_, errors)) => panic!("{}.ftl does not parse: {errors:?}", locale.tag()),
        };
        fn variables(pattern: &Pattern<&str>, into: &mut BTreeSet<String>) {
            for element in &pattern.elements {
                if let PatternElement::Placeable { expression } = element {
                    expression_variables(expression, into);
                }
            }
        }
        fn expression_variables(e: &Expression<&str>, into: &mut BTreeSet<String>) {
            match e {
                Expression::Inline(InlineExpression::VariableReference { id }) => {
                    into.insert(id.name.to_owned());
                }
                Expression::Select { selector, variants } => {
                    if let InlineExpression::VariableReference { id } = selector {
                        into.insert(id.name.to_owned());
                    }
                    for v in variants {
                        variables(&v.value, into);
                    }
                }
                Expression::Inline(_) => {}
            }
        }
        resource
            .entries()
            .filter_map(|entry| match entry {
                Entry::Message(m) => {
                    let mut vars = BTreeSet::new();
                    if let Some(value) = &m.value {
                        variables(value, &mut vars);
                    }
                    Some((m.id.name.to_owned(), vars))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_catalogue_has_every_message_with_the_same_variables() {
        let english = messages(Locale::En);
        assert!(
            english.len() > 100,
            "the English catalogue lost its messages"
        );
        for locale in Locale::ALL {
            let theirs = messages(locale);
            let ids: BTreeSet<_> = theirs.iter().map(|(id, _)| id.clone()).collect();
            assert_eq!(
                ids.len(),
                theirs.len(),
                "{}.ftl names a message twice",
                locale.tag()
            );
            for (id, vars) in &english {
                let Some((_, their_vars)) = theirs.iter().find(|(i, _)| i == id) else {
                    panic!("{}.ftl lacks `{id}`", locale.tag());
                };
                assert_eq!(
                    vars,
                    their_vars,
                    "{}.ftl's `{id}` uses other variables than English's",
                    locale.tag()
                );
            }
            for (id, _) in &theirs {
                assert!(
                    english.iter().any(|(i, _)| i == id),
                    "{}.ftl has `{id}`, which English has not",
                    locale.tag()
                );
            }
        }
    }

    #[test]
    fn every_message_formats_in_every_language() {
        for locale in Locale::ALL {
            for (id, vars) in messages(locale) {
                let args: Vec<(&str, Arg)> =
                    vars.iter().map(|v| (v.as_str(), Arg::from(2))).collect();
                let text = format(locale, &id, &args);
                assert!(
                    text.as_deref().is_some_and(|t| !t.trim().is_empty()),
                    "{}.ftl's `{id}` does not format",
                    locale.tag()
                );
            }
        }
    }

    /// Every key the code asks for by a literal (`t` or `t_with` called
    /// with a string) names a message English has (the other catalogues are
    /// checked against English above).
    #[test]
    fn every_key_the_code_asks_for_exists() {
        let english: BTreeSet<String> =
            messages(Locale::En).into_iter().map(|(id, _)| id).collect();
        let mut asked = 0;
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let code = std::fs::read_to_string(&path).unwrap();
            // Built, so that this test's own source does not match.
            for call in ["t", "t_with"].map(|name| format!(".{name}(")) {
                for (at, _) in code.match_indices(&call) {
                    // The key may start on the next line.
                    let rest = code[at + call.len()..].trim_start();
                    let Some(rest) = rest.strip_prefix('"') else {
                        continue; // Not a literal: checked below.
                    };
                    let key = &rest[..rest.find('"').unwrap()];
                    asked += 1;
                    assert!(
                        english.contains(key),
                        "{} asks for `{key}`, which en.ftl lacks",
                        path.display()
                    );
                }
            }
        }
        assert!(asked > 80, "only {asked} keys found: the scan is broken");
    }

    /// The keys the code builds or keeps in constants, which the scan
    /// above cannot see.
    #[test]
    fn every_key_the_code_builds_exists() {
        use crate::protocol::ErrorCode;
        let mut keys: Vec<String> = Vec::new();
        keys.extend((1..=12).map(|m| format!("month-{m}")));
        keys.extend((1..=5).map(|r| format!("rating-{r}")));
        keys.extend(
            crate::settings::ReplyTime::ALL
                .iter()
                .map(|t| format!("reply-time-{}", t.key())),
        );
        for key in [
            "seen",
            "delivered",
            "sent",
            "greeting-default",
            "intro-default",
            "away-default",
            "away-plain",
            "assistant-fallback",
            "assistant-handed-over",
            "file-lost",
            "kind-pdf",
            "kind-zip",
            "kind-text",
            "kind-image",
            "kind-document",
            "kind-spreadsheet",
            "kind-slides",
            "kind-file",
        ] {
            keys.push(key.to_owned());
        }
        for locale in Locale::ALL {
            for key in &keys {
                assert!(
                    format(locale, key, &[]).is_some(),
                    "{}.ftl lacks `{key}`",
                    locale.tag()
                );
            }
            // Every refusal has words of its own, never the server's
            // English (English keeps the server's sentence on purpose).
            if locale == Locale::En {
                continue;
            }
            let codes: Vec<ErrorCode> = serde_json::from_value(serde_json::json!([
                "invalid_json",
                "unknown_type",
                "invalid_frame",
                "empty_body",
                "body_too_long",
                "invalid_profile",
                "forbidden",
                "conversation_required",
                "unsupported_frame",
                "agents_only",
                "invalid_reaction",
                "not_yours",
                "edit_window_closed",
                "message_deleted",
                "too_many_reactions",
                "storage_full",
                "rate_limited",
                "assistant_off",
                "invalid_snooze",
                "unknown_agent",
                "unknown_label",
                "too_many_conversations",
                "invalid_rating",
                "too_many_attachments",
                "unknown_attachment",
                "internal"
            ]))
            .expect("every error code");
            for code in codes {
                let said = locale.refusal(code, "ENGLISH");
                assert!(
                    !said.contains("ENGLISH") && !said.contains("refused-"),
                    "{code:?} in {}: {said}",
                    locale.tag()
                );
            }
            for code in [
                "too_big",
                "type_not_allowed",
                "empty",
                "picture_too_large",
                "picture_unreadable",
                "rate_limited",
                "conversation_full",
                "blocked",
                "internal",
            ] {
                let said = locale.file_refusal(code, "ENGLISH");
                assert!(
                    !said.contains("ENGLISH") && !said.contains("file-"),
                    "{code} in {}: {said}",
                    locale.tag()
                );
            }
        }
    }

    #[test]
    fn the_browser_languages_choose_the_messenger_language() {
        assert_eq!(Locale::negotiate("es-ES,es;q=0.9,en;q=0.8"), Locale::Es);
        assert_eq!(Locale::negotiate("en-US,en;q=0.9"), Locale::En);
        // Quality wins over order; unknown languages are skipped.
        assert_eq!(
            Locale::negotiate("ja;q=1, de;q=0.4, pt-BR;q=0.7"),
            Locale::Pt
        );
        assert_eq!(Locale::negotiate("fr-CA"), Locale::Fr);
        assert_eq!(Locale::negotiate("ja, zh"), Locale::En);
        assert_eq!(Locale::negotiate("es;q=0, de"), Locale::De);
        assert_eq!(Locale::negotiate("es;q=nonsense, fr;q=0.5"), Locale::Fr);
        assert_eq!(Locale::negotiate(""), Locale::En);
        assert_eq!(Locale::negotiate(&"x,".repeat(100_000)), Locale::En);
        // A name the site gives wins; an unknown one is ignored.
        assert_eq!(Locale::choose(Some("pt"), Some("de")), Locale::Pt);
        assert_eq!(Locale::choose(Some("klingon"), Some("de")), Locale::De);
        assert_eq!(Locale::choose(None, None), Locale::En);
    }

    #[test]
    fn words_come_in_the_language_with_their_variables() {
        assert_eq!(
            Locale::Es.t_with("typing-one", &[("name", "Ana".into())]),
            "Ana está escribiendo…"
        );
        assert_eq!(Locale::De.t("send"), "Senden");
        assert_eq!(
            Locale::Fr.t_with("articles-found", &[("count", 1.into())]),
            "1 article trouvé"
        );
        assert_eq!(
            Locale::Pt.t_with("articles-found", &[("count", 3.into())]),
            "3 artigos encontrados"
        );
        // French counts 0 as singular; the number is still the number.
        assert_eq!(
            Locale::Fr.t_with("articles-found", &[("count", 0.into())]),
            "0 article trouvé"
        );
        assert_eq!(
            Locale::Fr.t_with("unread-count", &[("count", 1.into())]),
            "1 non lu"
        );
        // Missing: English, then the key, never a panic or nothing.
        let missing = ["no-such", "message"].join("-");
        assert_eq!(Locale::Es.t(&missing), "no-such-message");
    }
}
