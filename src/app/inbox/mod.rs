//! `/inbox`: the team's side. Signed out, it shows the sign-in form; signed in,
//! the conversation list and the open thread.

mod articles;
mod blocks;
mod bulk;
mod contact;
mod erase;
mod install;
mod labels;
mod list;
mod replies;
mod search;
mod settings;
mod shortcuts;
mod sign_in;
mod team;
mod thread;
mod tokens;
mod webhooks;

pub use articles::ArticlesPage;
pub use settings::SettingsPage;
pub use team::TeamPage;

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::components::{ConnectionBanner, ConnectionStatus, Glyph, Icon};
use crate::client::{Role, provide_live};
use crate::protocol::{ConversationId, Me, MessageId};

use self::list::ConversationList;
use self::sign_in::SignIn;
use self::thread::ThreadPane;

/// The server's state and the agent signed in on this request, if any (for
/// server functions).
#[cfg(feature = "ssr")]
pub(crate) async fn session_agent() -> Result<
    (
        crate::server::AppState,
        Option<crate::server::store::AgentRecord>,
    ),
    ServerFnError,
> {
    use crate::server::{AppState, auth};
    let state = use_context::<AppState>()
        .ok_or_else(|| ServerFnError::new("server state missing from context"))?;
    let headers: axum::http::HeaderMap = leptos_axum::extract().await?;
    let agent = auth::signed_in_agent(&state.store, &headers)
        .await
        .map_err(|e| ServerFnError::new(format!("could not check the session: {e}")))?;
    Ok((state, agent))
}

/// The signed-in admin, or a refusal anyone can read.
#[cfg(feature = "ssr")]
pub(crate) async fn require_admin()
-> Result<(crate::server::AppState, crate::server::store::AgentRecord), ServerFnError> {
    use crate::server::store::Role;
    match session_agent().await? {
        (state, Some(agent)) if agent.role == Role::Admin => Ok((state, agent)),
        (_, Some(_)) => Err(ServerFnError::new("Only admins can change this.")),
        (_, None) => Err(ServerFnError::new("Your session has ended. Sign in again.")),
    }
}

/// The inbox's address with one conversation open.
pub fn conversation_href(id: ConversationId) -> String {
    format!("/inbox?c={id}")
}

/// The signed-in agent, or a refusal anyone can read.
#[cfg(feature = "ssr")]
pub(crate) async fn signed_in()
-> Result<(crate::server::AppState, crate::server::store::AgentRecord), ServerFnError> {
    match session_agent().await? {
        (state, Some(agent)) => Ok((state, agent)),
        (_, None) => Err(ServerFnError::new("Your session has ended. Sign in again.")),
    }
}

/// Who is signed in on this browser, from the session cookie.
#[server]
pub async fn current_agent() -> Result<Option<Me>, ServerFnError> {
    let (_, agent) = session_agent().await?;
    Ok(agent.map(|a| Me::Agent {
        id: a.id,
        name: a.name,
    }))
}

/// The inbox page: sign-in or the inbox.
#[component]
pub fn InboxPage() -> impl IntoView {
    let agent = Resource::new(|| (), |_| current_agent());
    // A `Transition`, not a `Suspense`, here and on every team page: a
    // resource read below while it loads (the visitor panel of each
    // opened conversation, an article's preview) would otherwise swap the
    // whole page for "Loading…" and back, losing focus and what was typed.
    // Lists refreshed after a save keep showing until the new one arrives.
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match agent.await {
                    Ok(Some(Me::Agent { name, .. })) => Either::Left(view! { <Inbox name /> }),
                    _ => Either::Right(view! { <SignIn /> }),
                }
            })}
        </Transition>
    }
}

/// The signed-in inbox.
#[component]
fn Inbox(name: String) -> impl IntoView {
    let live = provide_live(Role::Agent);
    let title = move || match live.total_unread() {
        0 => "Inbox — Minicom".to_string(),
        n => format!("({n}) Inbox — Minicom"),
    };
    let query = use_query_map();
    let selected = Memo::new(move |_| {
        query
            .with(|q| q.get("c").and_then(|c| c.parse::<i64>().ok()))
            .map(ConversationId)
    });
    // A search result names the message it found: show it (again once
    // the socket is live, if it was not yet).
    let found = Memo::new(move |_| {
        query
            .with(|q| q.get("m").and_then(|m| m.parse::<i64>().ok()))
            .map(MessageId)
    });
    let landed = StoredValue::new(None);
    Effect::new(move |_| {
        let online = live.connection.get() == crate::client::live::Connection::Online;
        if let (Some(c), Some(m), true) = (selected.get(), found.get(), online)
            && landed.get_value() != Some((c, m))
        {
            // Once: a reconnect later must not pull the reader back there.
            landed.set_value(Some((c, m)));
            live.jump(c, m);
        }
    });
    // The phone-width menu; any pick in it (or a new page) closes it again.
    let menu_open = RwSignal::new(false);
    Effect::new(move |_| {
        selected.track();
        menu_open.set(false);
    });
    view! {
        <Title text=super::live_title(title) />
        <main class="inbox" class:inbox-thread-open=move || selected.get().is_some()>
            <header class="inbox-topbar">
                <h1 class="inbox-brand">"Minicom"<span class="sr-only">" inbox"</span></h1>
                <ConnectionStatus />
                <button
                    type="button"
                    class="icon-button inbox-menu-toggle"
                    aria-label="Menu"
                    aria-controls="inbox-menu"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| menu_open.update(|o| *o = !*o)
                >
                    <Icon glyph=Glyph::Menu />
                </button>
                <nav id="inbox-menu" class="inbox-menu" class:open=move || menu_open.get()
                    aria-label="Account"
                    on:keydown=move |ev| {
                        if ev.key() == "Escape" && menu_open.get_untracked() {
                            menu_open.set(false);
                        }
                    }>
                    <NotificationControls />
                    <a class="button-quiet" href="/inbox/team" rel="external">"Team"</a>
                    <a class="button-quiet" href="/inbox/settings" rel="external">"Settings"</a>
                    <a class="button-quiet" href="/inbox/help" rel="external">"Help center"</a>
                    <span class="inbox-agent">{name}</span>
                    <form method="post" action="/auth/logout">
                        <button type="submit" class="button-quiet">"Sign out"</button>
                    </form>
                </nav>
            </header>
            <div class="inbox-banner"><ConnectionBanner /></div>
            <ConversationList selected />
            <ThreadPane selected />
        </main>
    }
}

/// Sound on or off, and (once) the offer to turn on desktop notifications.
#[component]
fn NotificationControls() -> impl IntoView {
    let live = expect_context::<crate::client::live::Live>();
    // Known only in the browser, after hydration.
    let can_ask = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| can_ask.set(crate::client::notify::can_ask_permission()));
    view! {
        <button
            type="button"
            class="button-quiet"
            aria-pressed=move || (!live.muted.get()).to_string()
            on:click=move |_| live.muted.update(|m| *m = !*m)
        >
            {move || if live.muted.get() {
                view! { <Icon glyph=Glyph::BellOff /> " Sound off" }.into_any()
            } else {
                view! { <Icon glyph=Glyph::Bell /> " Sound on" }.into_any()
            }}
        </button>
        <Show when=move || can_ask.get()>
            <button type="button" class="button-quiet" on:click=move |_| {
                #[cfg(feature = "hydrate")]
                crate::client::notify::ask_permission();
                can_ask.set(false);
            }>"Enable desktop notifications"</button>
        </Show>
    }
}
