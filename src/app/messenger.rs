//! The visitor's side: the messenger panel, the bubble that opens it, and the
//! full-page `/messenger` used for embedding.

use crate::app::help::messenger::HelpSearch;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_query_map;

use crate::app::components::attachments::{allow_drop, drop_files};
use crate::app::components::{
    Composer, ConnectionBanner, ConnectionStatus, Glyph, Icon, MessageList, NoticeBar, Reader,
    Side, transcript_href,
};
use crate::client::live::{Live, Posting};
use crate::client::time::format_time_in;
use crate::client::{Role, provide_live};
use crate::i18n::Locale;
use crate::protocol::Me;
use crate::protocol::{AssistantState, ConversationId, ConversationStatus};
use crate::settings::LauncherSide;

/// `/messenger`: the messenger alone, full page.
#[component]
pub fn MessengerPage() -> impl IntoView {
    let live = provide_live(Role::Visitor);
    // Framed by /widget.js: its panel starts closed (replies are not seen
    // until it opens) and the close button asks the page to close it.
    let embedded = use_query_map().with_untracked(|q| q.get("embed").is_some());
    if embedded {
        live.panel_open.set(false);
    }
    let on_close = Callback::new(move |_| {
        #[cfg(feature = "hydrate")]
        crate::client::embed::close_panel();
    });
    let team = move || live.look.with(|l| l.team_name.clone());
    let w = live.words;
    view! {
        <Title text=super::live_title(move || w.t_with("chat-with", &[("team", team().into())])) />
        <Meta
            name="description"
            content=move || w.t_with("page-description", &[("team", team().into())])
        />
        <main class="messenger-page">
            {if embedded {
                Either::Left(view! { <Messenger full_page=true on_close /> })
            } else {
                Either::Right(view! { <Messenger full_page=true /> })
            }}
        </main>
    }
}

/// The bubble in the corner and the panel it opens.
#[component]
pub fn Launcher() -> impl IntoView {
    let live = expect_context::<Live>();
    let open = RwSignal::new(false);
    // Replies count as seen (and make no sound) only while the panel is open.
    Effect::new(move |_| live.panel_open.set(open.get()));
    let unread = move || live.total_unread();
    let w = live.words;
    view! {
        <div
            class="launcher"
            lang=w.tag()
            class:launcher-open=move || open.get()
            class:launcher-left=move || live.look.with(|l| l.launcher_side == LauncherSide::Left)
        >
            <Show when=move || open.get()>
                <div class="launcher-panel">
                    <Messenger on_close=Callback::new(move |_| open.set(false)) />
                </div>
            </Show>
            // A link until the page is hydrated: a click before the WASM is
            // ready opens the full-page messenger instead of doing nothing.
            <a
                href="/messenger"
                rel="external"
                role="button"
                class="launcher-bubble"
                aria-label=move || match (open.get(), unread()) {
                    (true, _) => w.t("close-chat"),
                    (false, 0) => w.t("open-chat"),
                    (false, n) => w.t_with("open-chat-unread", &[("count", n.into())]),
                }
                aria-expanded=move || open.get().to_string()
                on:click=move |ev| {
                    // Ctrl- or middle-click still opens the page in a new tab.
                    if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() {
                        return;
                    }
                    ev.prevent_default();
                    open.update(|o| *o = !*o);
                }
                on:keydown=move |ev| {
                    // A link answers Enter; a button also answers Space.
                    if ev.key() == " " {
                        ev.prevent_default();
                        if !ev.repeat() {
                            open.update(|o| *o = !*o);
                        }
                    }
                }
            >
                {move || if open.get() {
                    view! { <Icon glyph=Glyph::Close /> }
                } else {
                    view! { <Icon glyph=Glyph::Chat /> }
                }}
                <Show when=move || { !open.get() && unread() > 0 }>
                    <span class="launcher-badge" aria-hidden="true">{unread}</span>
                </Show>
            </a>
        </div>
    }
}

/// The messenger panel: greeting, the visitor's conversation, a composer.
#[component]
pub fn Messenger(
    #[prop(optional, into)] on_close: Option<Callback<()>>,
    /// The page is the messenger alone: its title is the page's heading.
    #[prop(optional)]
    full_page: bool,
) -> impl IntoView {
    let live = expect_context::<Live>();
    // The conversation the visitor picked from their list; else their most
    // recent one (none before their first message, or while starting anew).
    // A link from a follow-up email names the conversation to open.
    let named = leptos_router::hooks::use_query_map()
        .with_untracked(|q| q.get("conversation").and_then(|c| c.parse().ok()))
        .map(ConversationId);
    let picked = RwSignal::new(named);
    let starting_new = RwSignal::new(false);
    let listing = RwSignal::new(false);
    let current = Memo::new(move |_| {
        if starting_new.get() {
            return None;
        }
        // A picked conversation that is gone (erased) is not shown.
        picked
            .get()
            .filter(|id| live.conversations.with(|c| c.iter().any(|c| c.id == *id)))
            .or_else(|| live.conversations.with(|c| c.first().map(|c| c.id)))
    });
    // Started anew: once the new conversation exists, it is the one shown.
    let known_before = StoredValue::new(Vec::<ConversationId>::new());
    Effect::new(move |_| {
        if !starting_new.get() {
            return;
        }
        let newest = live.conversations.with(|c| c.first().map(|c| c.id));
        if let Some(id) = newest
            && !known_before.with_value(|known| known.contains(&id))
        {
            picked.set(Some(id));
            starting_new.set(false);
        }
    });
    let start_new = move || {
        known_before.set_value(
            live.conversations
                .with_untracked(|c| c.iter().map(|c| c.id).collect()),
        );
        picked.set(None);
        starting_new.set(true);
        listing.set(false);
    };
    // The current conversation, when it is resolved: its rating so far.
    let resolved = move || {
        let id = current.get()?;
        live.conversations
            .with(|c| c.iter().find(|c| c.id == id).map(|c| (c.status, c.rating)))
            .filter(|(status, _)| *status == ConversationStatus::Resolved)
            .map(|(_, rating)| (id, rating))
    };
    let commented = RwSignal::new(None::<ConversationId>);
    Effect::new(move |_| {
        if let Some(id) = current.get() {
            live.open(id);
        }
    });
    let send = Callback::new(move |body: String| {
        if starting_new.get_untracked() {
            // Only the first message starts it; the next ones, queued behind
            // it, land in the visitor's newest conversation: that one.
            let first = !live
                .outbox
                .with_untracked(|o| o.iter().any(|p| p.posting.new_conversation));
            let posting = Posting {
                new_conversation: first,
                ..Posting::default()
            };
            live.post(None, &body, posting)
        } else {
            live.send_message(current.get_untracked(), &body)
        }
    });
    let typing = Callback::new(move |now: bool| {
        if let Some(id) = current.get_untracked() {
            live.set_typing(id, now);
        }
    });
    let look = live.look;
    let w = live.words;
    let team = move || look.with(|l| l.team_name.clone());
    let initial = move || {
        look.with(|l| {
            l.team_name
                .chars()
                .next()
                .map(|c| c.to_uppercase().collect::<String>())
        })
        .unwrap_or_default()
    };
    view! {
        <section class="messenger" lang=w.tag()
            aria-label=move || w.t_with("chat-with", &[("team", team().into())])>
            <header class="messenger-header">
                <div class="team-avatars" aria-hidden="true">
                    <span class="avatar avatar-team">{initial}</span>
                </div>
                <div class="messenger-title">
                    {if full_page {
                        Either::Left(view! { <h1>{team}</h1> })
                    } else {
                        Either::Right(view! { <h2>{team}</h2> })
                    }}
                    <p class="messenger-subtitle">
                        <span class="presence" class:online=move || live.team_online.get()>
                            {move || if live.team_online.get() {
                                w.t("team-online")
                            } else if look.with(|l| l.away.is_some()) {
                                w.t("away-now")
                            } else {
                                look.with(|l| said_by_admins(w, &l.reply_time))
                            }}
                        </span>
                    </p>
                </div>
                <ConnectionStatus />
                {move || current.get().filter(|_| !listing.get()).map(|id| view! {
                    <a class="icon-button" href=transcript_href(Reader::Visitor, id, "txt")
                        download="" aria-label=w.t("download-conversation")>
                        <Icon glyph=Glyph::Download />
                    </a>
                })}
                <Show when=move || !live.conversations.with(Vec::is_empty)>
                    <button type="button" class="icon-button"
                        aria-label=move || if listing.get() {
                            w.t("back-to-conversation")
                        } else {
                            w.t("your-conversations")
                        }
                        aria-expanded=move || listing.get().to_string()
                        on:click=move |_| listing.update(|l| *l = !*l)>
                        {move || if listing.get() {
                            view! { <Icon glyph=Glyph::Back /> }
                        } else {
                            view! { <Icon glyph=Glyph::List /> }
                        }}
                    </button>
                </Show>
                {on_close.map(|close| view! {
                    <button type="button" class="icon-button" aria-label=w.t("close-chat")
                        on:click=move |_| close.run(())><Icon glyph=Glyph::Close /></button>
                })}
            </header>
            <ConnectionBanner />
            <Show when=move || listing.get()>
                <ConversationsHome
                    on_pick=Callback::new(move |id| {
                        picked.set(Some(id));
                        starting_new.set(false);
                        listing.set(false);
                    })
                    on_new=Callback::new(move |()| start_new())
                />
            </Show>
            <div class="messenger-body" class:hidden=move || listing.get()
                on:dragover=allow_drop on:drop=drop_files(live, Signal::from(current))>
                <div class="greeting">
                    <p class="greeting-title">{move || look.with(|l| said_by_admins(w, &l.greeting))}</p>
                    <p>{move || look.with(|l| said_by_admins(w, &l.intro))}</p>
                    {move || look.with(|l| l.away.as_deref().map(|away| said_by_admins(w, away))).map(|away| view! {
                        <p class="away-notice" role="status">{away}</p>
                    })}
                    <HelpSearch />
                </div>
                <MessageList conversation=Signal::from(current) side=Side::Contact />
            </div>
            {move || resolved().map(|(id, rating)| view! {
                <ResolvedBanner id rating commented on_new=Callback::new(move |()| start_new()) />
            })}
            {move || {
                let id = current.get()?;
                (live.assistant_state(id) == AssistantState::Answering).then(|| view! {
                    <div class="handoff">
                        <span>{w.t("assistant-answering")}</span>
                        <button type="button" class="link-button"
                            on:click=move |_| live.hand_over(id)>{w.t("talk-to-person")}</button>
                    </div>
                })
            }}
            <NoticeBar />
            // Hidden, not removed, while the list shows: what was typed stays.
            // Gone for good when the server will not chat (the banner says why).
            <div class="messenger-compose"
                class:hidden=move || listing.get() || live.refused.with(Option::is_some)>
                <ProfileForm />
                <Composer on_send=send on_typing=typing prefill=live.prefill
                    attach_to=Signal::from(current) placeholder=w.t("write-message") />
            </div>
        </section>
    }
}

/// "This conversation was resolved", "How did we do?" (five faces), and an
/// optional comment once rated.
#[component]
fn ResolvedBanner(
    id: ConversationId,
    rating: Option<u8>,
    /// The conversation whose rating got its comment (the form goes away).
    commented: RwSignal<Option<ConversationId>>,
    on_new: Callback<()>,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    let comment = RwSignal::new(String::new());
    // The faces' names in the visitor's words ("rating-1" … "rating-5").
    let rating_name = move |score: u8| {
        crate::protocol::rating_name(score).map(|_| w.t(&format!("rating-{score}")))
    };
    view! {
        <div class="resolved-banner">
            <p role="status">
                {w.t("resolved-reopen")} " "
                <button type="button" class="link-button" on:click=move |_| on_new.run(())>
                    {w.t("start-new")}
                </button>
            </p>
            {match rating.and_then(|score| rating_name(score).map(|name| (score, name))) {
                None => view! {
                    <div class="rating">
                        <p class="rating-title" id="rating-title">{w.t("how-did-we-do")}</p>
                        <div class="rating-faces" role="group" aria-labelledby="rating-title">
                            {(1..=5u8).map(|score| view! {
                                <button type="button" class="icon-button rating-face"
                                    aria-label=rating_name(score).unwrap_or_default()
                                    title=rating_name(score).unwrap_or_default()
                                    on:click=move |_| live.rate(id, score, None)>
                                    <Icon glyph=Glyph::Face(score) />
                                </button>
                            }).collect_view()}
                        </div>
                    </div>
                }.into_any(),
                Some((score, name)) => view! {
                    <p class="rating-done">
                        <Icon glyph=Glyph::Face(score) />
                        " " {w.t_with("rated", &[("rating", name.into())])}
                    </p>
                    <Show when=move || commented.get() != Some(id)>
                        <form class="rating-comment" on:submit=move |ev| {
                            ev.prevent_default();
                            live.rate(id, score, Some(comment.get_untracked()));
                            commented.set(Some(id));
                        }>
                            <label>
                                {w.t("rating-comment")}
                                <textarea rows="2" maxlength="1000" bind:value=comment></textarea>
                            </label>
                            <button type="submit" class="button-small"
                                disabled=move || comment.with(|c| c.trim().is_empty())>{w.t("send")}</button>
                        </form>
                    </Show>
                }.into_any(),
            }}
        </div>
    }
}

/// The visitor's conversations, newest first, and "New conversation".
#[component]
fn ConversationsHome(on_pick: Callback<ConversationId>, on_new: Callback<()>) -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    view! {
        <div class="messenger-home">
            <div class="messenger-home-head">
                <h3>{w.t("your-conversations")}</h3>
                <button type="button" class="button-small" on:click=move |_| on_new.run(())>
                    <Icon glyph=Glyph::Plus />" " {w.t("new-conversation")}
                </button>
            </div>
            <ul class="messenger-conversations">
                {move || live.conversations.get().into_iter().map(|c| {
                    let id = c.id;
                    let status = match c.status {
                        ConversationStatus::Resolved => Some(w.t("status-resolved")),
                        _ => None,
                    };
                    view! {
                        <li>
                            <button type="button" class="conversation-pick"
                                on:click=move |_| on_pick.run(id)>
                                <span class="conversation-row-top">
                                    <span class="conversation-preview">{c.last_message_preview.clone()}</span>
                                    <time class="conversation-time">{format_time_in(w, c.last_message_at)}</time>
                                </span>
                                <span class="conversation-row-bottom">
                                    {status.map(|s| view! { <span class="row-tag">{s}</span> })}
                                    {(c.unread > 0).then(|| view! {
                                        <span class="unread-badge">
                                            <span aria-hidden="true">{c.unread}</span>
                                            <span class="sr-only">{w.t_with("unread-count", &[("count", c.unread.into())])}</span>
                                        </span>
                                    })}
                                </span>
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

/// Lets the visitor leave a name and email (optional; labels only).
#[component]
fn ProfileForm() -> impl IntoView {
    let live = expect_context::<Live>();
    let w = live.words;
    let expanded = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let known = move || {
        live.me.with(|me| match me {
            Some(Me::Contact { name, email, .. }) => name.clone().or_else(|| email.clone()),
            _ => None,
        })
    };
    view! {
        <div class="profile">
            <Show
                when=move || expanded.get()
                fallback=move || view! {
                    <button type="button" class="link-button" on:click=move |_| {
                        if let Some(Me::Contact { name: n, email: e, .. }) = live.me.get_untracked() {
                            name.set(n.unwrap_or_default());
                            email.set(e.unwrap_or_default());
                        }
                        expanded.set(true);
                    }>
                        {move || match known() {
                            Some(who) => w.t_with("chatting-as", &[("who", who.into())]),
                            None => w.t("add-profile"),
                        }}
                    </button>
                }
            >
                <form class="profile-form" on:submit=move |ev| {
                    ev.prevent_default();
                    live.set_profile(name.get_untracked(), email.get_untracked());
                    expanded.set(false);
                }>
                    <label>
                        {w.t("name")}
                        <input type="text" name="name" autocomplete="name" maxlength="120"
                            bind:value=name />
                    </label>
                    <label>
                        {w.t("email")}
                        <input type="email" name="email" autocomplete="email" maxlength="120"
                            bind:value=email />
                    </label>
                    <button type="submit" class="button-small">{w.t("save")}</button>
                </form>
            </Show>
        </div>
    }
}

/// A text the admins set, in the visitor's words while it is still
/// Minicom's default (the admins' own words are shown as they wrote them).
fn said_by_admins(w: Locale, text: &str) -> String {
    use crate::settings::{MessengerSettings, ReplyTime};
    let defaults = MessengerSettings::default();
    let key = if text == defaults.greeting {
        "greeting-default"
    } else if text == defaults.intro {
        "intro-default"
    } else if text == defaults.away_message {
        "away-default"
    } else if text == crate::settings::PLAIN_AWAY {
        "away-plain"
    } else if let Some(time) = ReplyTime::ALL.iter().find(|t| t.sentence() == text) {
        return w.t(&format!("reply-time-{}", time.key()));
    } else {
        return text.to_owned();
    };
    w.t(key)
}
