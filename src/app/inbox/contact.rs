//! The contact panel beside a thread: who the visitor is (name, email,
//! verified or not), when they were around, their local time, browser and
//! page, what a verified site says about them, and their other
//! conversations; the team corrects an unverified visitor's name and email
//! here. Its server functions check the session, then call
//! `server::contacts`. Everything shown is the visitor's or the site's text,
//! rendered as text.

use leptos::prelude::*;

use super::blocks::BlockControl;
use super::erase::EraseControl;
use super::team::refusal;
use crate::app::components::{Glyph, Icon};
use crate::client::live::Live;
use crate::client::time::{clock_in_zone, format_ago, format_full, format_time};
use crate::protocol::{
    ContactPanel, ConversationId, MAX_PROFILE_CHARS, OtherConversation, visitor_label,
};

#[cfg(feature = "ssr")]
use super::signed_in;

/// What the panel shows about the visitor of a conversation.
#[server(endpoint = "contact_panel")]
pub async fn load_contact_panel(conversation: i64) -> Result<ContactPanel, ServerFnError> {
    let (state, _) = signed_in().await?;
    crate::server::contacts::panel(&state, ConversationId(conversation))
        .await
        .map_err(refused)
}

/// Corrects the name and email of an unverified visitor (empty: none).
#[server(endpoint = "contact_edit")]
pub async fn edit_contact(
    conversation: i64,
    name: String,
    email: String,
) -> Result<(), ServerFnError> {
    let (state, agent) = signed_in().await?;
    let contact = crate::server::contacts::edit(
        &state,
        ConversationId(conversation),
        Some(name),
        Some(email),
    )
    .await
    .map_err(refused)?;
    tracing::info!(
        agent = agent.id.0,
        contact = contact.0,
        "changed a visitor's name or email"
    );
    Ok(())
}

/// The sentence an agent reads: the rule that was broken, or that the
/// database did not answer (its details go to the log, not the screen).
#[cfg(feature = "ssr")]
fn refused(err: crate::server::contacts::ContactError) -> ServerFnError {
    use crate::server::contacts::ContactError;
    if let ContactError::Store(store) = &err {
        tracing::error!(err = %store, "could not read or change a visitor's details");
        return ServerFnError::new("The database did not answer; try again in a moment.");
    }
    ServerFnError::new(err.to_string())
}

/// The width from which the panel sits beside the thread (the stylesheet's
/// `.thread.with-contact` uses the same).
#[cfg(feature = "hydrate")]
const DOCKED_FROM_PX: f64 = 1280.0;

/// Whether the screen has room for the panel beside the thread.
#[cfg(feature = "hydrate")]
fn wide_screen() -> bool {
    web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|w| w.as_f64())
        .is_some_and(|w| w >= DOCKED_FROM_PX)
}

/// Moves the keyboard focus to the element with this id once the page has
/// drawn what was just shown or hidden.
pub(super) fn focus_id(id: &'static str) {
    #[cfg(feature = "hydrate")]
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(element) = document()
            .get_element_by_id(id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// The header's button that shows or hides the panel; opening it takes the
/// focus into the panel.
#[component]
pub fn ContactToggle(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <button type="button" id="contact-toggle" class="button-small button-quiet contact-toggle"
            aria-controls="contact-panel"
            aria-expanded=move || open.get().to_string()
            on:click=move |_| {
                let now = !open.get_untracked();
                open.set(now);
                if now {
                    focus_id("contact-panel-close");
                }
            }>
            <Icon glyph=Glyph::User />
            <span class="contact-toggle-label">" Visitor"</span>
        </button>
    }
}

/// Open where there is room, once the page is live; a window that grows
/// or shrinks past that width opens or closes it again (in between, the
/// agent's choice stands).
pub fn panel_open_signal() -> RwSignal<bool> {
    let open = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        let wide = StoredValue::new(None::<bool>);
        let follow = move || {
            let now = wide_screen();
            if wide.get_value() != Some(now) {
                wide.set_value(Some(now));
                open.set(now);
            }
        };
        Effect::new(move |_| follow());
        let resized = window_event_listener(leptos::ev::resize, move |_| follow());
        on_cleanup(move || resized.remove());
    }
    open
}

/// The panel for conversation `id`, loaded in the browser and loaded again
/// when its row says something about the visitor changed (name, email,
/// online or last seen — a `visit` moves it). A new message in the thread
/// changes nothing the panel shows, so it loads nothing. The editor
/// is made once, so a reload never wipes what an agent is typing.
#[component]
pub fn ContactPanelView(id: ConversationId, open: RwSignal<bool>) -> impl IntoView {
    let live = expect_context::<Live>();
    let changed = Memo::new(move |_| {
        live.conversations.with(|c| {
            c.iter().find(|c| c.id == id).map(|c| {
                (
                    c.contact_name.clone(),
                    c.contact_email.clone(),
                    c.contact_online,
                    c.contact_last_seen_at,
                )
            })
        })
    });
    let saved = RwSignal::new(0u32);
    let panel = LocalResource::new(move || {
        changed.track();
        saved.track();
        load_contact_panel(id.0)
    });
    let about = Signal::derive(move || panel.get().and_then(Result::ok));
    let close = move || {
        open.set(false);
        focus_id("contact-toggle");
    };
    view! {
        <aside id="contact-panel" class="contact-panel" class:open=move || open.get()
            aria-label="About the visitor"
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    close();
                }
            }>
            <div class="contact-panel-head">
                <h3>"About the visitor"</h3>
                <button type="button" id="contact-panel-close" class="icon-button"
                    aria-label="Close visitor details" on:click=move |_| close()>
                    <Icon glyph=Glyph::Close />
                </button>
            </div>
            {move || match panel.get() {
                None => view! { <p class="menu-hint">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <p class="form-problem" role="alert">{refusal(e)}</p>
                }.into_any(),
                Some(Ok(about)) => view! { <Facts about /> }.into_any(),
            }}
            <ContactEditor id about saved />
            <BlockControl id about saved />
            <EraseControl id about />
            {move || about.get().map(|about| view! {
                <Attributes about=about.clone() />
                <OtherConversations others=about.others total=about.others_total />
            })}
        </aside>
    }
}

/// Who the visitor is, when and where.
#[component]
fn Facts(about: ContactPanel) -> impl IntoView {
    let label = about
        .name
        .clone()
        .unwrap_or_else(|| visitor_label(about.contact_id));
    let not_given = || view! { <span class="muted">"Not given"</span> };
    let seen = if about.online {
        "Online now".to_string()
    } else {
        format_ago(about.last_seen_at)
    };
    let device = match (&about.browser, &about.os) {
        (Some(b), Some(o)) => Some(format!("{b} on {o}")),
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    };
    let local = about.time_zone.clone().map(|zone| {
        // The visitor's clock, kept current while the panel is shown.
        let clock = RwSignal::new(clock_in_zone(&zone));
        #[cfg(feature = "hydrate")]
        {
            let zone = zone.clone();
            if let Ok(tick) = set_interval_with_handle(
                move || clock.set(clock_in_zone(&zone)),
                std::time::Duration::from_secs(30),
            ) {
                on_cleanup(move || tick.clear());
            }
        }
        view! {
            <dt>"Local time"</dt>
            <dd>{move || clock.get().unwrap_or_default()} " "
                <span class="muted">"(" {zone} ")"</span></dd>
        }
    });
    let page = about.page.clone().map(|page| {
        let shown = if page.title.is_empty() {
            page.url.clone()
        } else {
            page.title.clone()
        };
        view! {
            <dt>"Page"</dt>
            <dd class="contact-page">
                <a href=page.url.clone() target="_blank" rel="noopener noreferrer nofollow"
                    title=page.url.clone()>
                    {shown}<span class="sr-only">" (opens in a new tab)"</span>
                    <Icon glyph=Glyph::External />
                </a>
            </dd>
        }
    });
    view! {
        <div class="contact-who">
            <p class="contact-name">{label}</p>
            {if about.verified {
                view! { <p class="contact-badge verified"><Icon glyph=Glyph::Check />" Verified by your site"</p> }.into_any()
            } else {
                view! { <p class="contact-badge">"Not verified: the visitor typed this"</p> }.into_any()
            }}
        </div>
        <dl class="contact-facts">
            <dt>"Name"</dt>
            <dd>{about.name.clone().map_or_else(|| not_given().into_any(), |n| n.into_any())}</dd>
            <dt>"Email"</dt>
            <dd>{about.email.clone().map_or_else(|| not_given().into_any(), |e| e.into_any())}</dd>
            {local}
            <dt>"Browser"</dt>
            <dd>{device.map_or_else(|| view! { <span class="muted">"Unknown"</span> }.into_any(), |d| d.into_any())}</dd>
            {about.language.clone().map(|language| view! {
                <dt>"Language"</dt>
                <dd>{language}</dd>
            })}
            {page}
            <dt>"First seen"</dt>
            <dd title=format_full(about.first_seen_at)>{format_time(about.first_seen_at)}</dd>
            <dt>"Last seen"</dt>
            <dd title=format_full(about.last_seen_at)>{seen}</dd>
        </dl>
    }
}

/// What the site passed with the visitor's sign-in.
#[component]
fn Attributes(about: ContactPanel) -> impl IntoView {
    (!about.attributes.is_empty()).then(|| {
        view! {
            <h4>"From your site's sign-in"</h4>
            <dl class="contact-facts">
                {about.attributes.into_iter().map(|a| view! {
                    <dt>{a.name}</dt>
                    <dd>{a.value}</dd>
                }).collect_view()}
            </dl>
        }
    })
}

/// "Edit": the name and email of a visitor who is not verified. The typed
/// values live here, not in the reloaded facts.
#[component]
fn ContactEditor(
    id: ConversationId,
    about: Signal<Option<ContactPanel>>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    let editable = move || about.with(|a| a.as_ref().is_some_and(|a| !a.verified));
    let editing = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let save = ServerAction::<EditContact>::new();
    let problem = move || match save.value().get() {
        Some(Err(e)) => Some(refusal(e)),
        _ => None,
    };
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(()))) {
            editing.set(false);
            saved.update(|n| *n += 1);
            focus_id("contact-edit-start");
        }
    });
    let start = move |_| {
        if let Some(now) = about.get_untracked() {
            name.set(now.name.unwrap_or_default());
            email.set(now.email.unwrap_or_default());
        }
        save.value().set(None);
        editing.set(true);
        focus_id("contact-edit-name");
    };
    let max = MAX_PROFILE_CHARS;
    view! {
        <Show when=editable>
            <Show when=move || editing.get()
                fallback=move || view! {
                    <button type="button" id="contact-edit-start" class="button-small button-quiet"
                        on:click=start>
                        <Icon glyph=Glyph::Pencil />" Edit name and email"
                    </button>
                }>
                <form class="contact-edit" novalidate on:submit=move |ev| {
                    ev.prevent_default();
                    save.dispatch(EditContact {
                        conversation: id.0,
                        name: name.get_untracked(),
                        email: email.get_untracked(),
                    });
                }>
                    <label>"Name" <input id="contact-edit-name" type="text" bind:value=name
                        maxlength=max autocomplete="off" /></label>
                    <label>"Email" <input type="email" bind:value=email
                        maxlength=max autocomplete="off" /></label>
                    {move || problem().map(|p| view! { <p class="form-problem" role="alert">{p}</p> })}
                    <div class="contact-edit-actions">
                        <button type="submit" class="button-small" disabled=move || save.pending().get()>"Save"</button>
                        <button type="button" class="button-small button-quiet"
                            on:click=move |_| {
                                editing.set(false);
                                focus_id("contact-edit-start");
                            }>"Cancel"</button>
                    </div>
                </form>
            </Show>
        </Show>
    }
}

/// The visitor's other conversations, newest first, each a link.
#[component]
fn OtherConversations(others: Vec<OtherConversation>, total: u32) -> impl IntoView {
    let heading = match total {
        0 => "No other conversations".to_string(),
        1 => "1 other conversation".to_string(),
        n => format!("{n} other conversations"),
    };
    let more = (total as usize > others.len())
        .then(|| format!("and {} more", total as usize - others.len()));
    view! {
        <h4>{heading}</h4>
        <ul class="contact-others">
            {others.into_iter().map(|c| {
                let preview = if c.preview.is_empty() { "(no messages)".to_string() } else { c.preview };
                view! {
                    <li>
                        <a href=super::conversation_href(c.id)>{preview}</a>
                        <span class="muted">{c.status.label()} " · " {format_time(c.last_message_at)}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
        {more.map(|m| view! { <p class="muted">{m}</p> })}
    }
}
