//! "Webhooks" on the Settings page (admins): register an endpoint of your
//! own systems and the events it wants (its signing secret shown once),
//! see what was sent to it and how it answered, resume one that was paused
//! for failing, delete one. Its server functions check the session, then
//! call `server::webhooks`.

use leptos::prelude::*;

use super::team::refusal;
use crate::client::time::{format_ago, format_full};
use crate::protocol::{
    Delivery, DeliveryState, MAX_WEBHOOK_URL, NewWebhook, Webhook, WebhookEvent,
};

#[cfg(feature = "ssr")]
use super::require_admin;

/// The sentence an admin reads: the rule that was broken, or that the
/// database did not answer (its details go to the log).
#[cfg(feature = "ssr")]
fn refused(err: crate::server::webhooks::WebhookError) -> ServerFnError {
    use crate::server::webhooks::WebhookError;
    if let WebhookError::Store(store) = &err {
        tracing::error!(err = %store, "could not read or change a webhook");
        return ServerFnError::new("The database did not answer; try again in a moment.");
    }
    ServerFnError::new(err.to_string())
}

/// Every endpoint with its latest deliveries (admins).
#[server(endpoint = "webhooks")]
pub async fn webhooks_settings() -> Result<Vec<Webhook>, ServerFnError> {
    let (state, _) = require_admin().await?;
    crate::server::webhooks::list(&state).await.map_err(refused)
}

/// Registers an endpoint for `events` (their names, separated by spaces).
#[server(endpoint = "webhook_create")]
pub async fn register_webhook(url: String, events: String) -> Result<NewWebhook, ServerFnError> {
    let (state, admin) = require_admin().await?;
    let events: Vec<String> = events.split_whitespace().map(str::to_owned).collect();
    crate::server::webhooks::register(&state, admin.id, &url, &events)
        .await
        .map_err(refused)
}

/// Deletes an endpoint.
#[server(endpoint = "webhook_delete")]
pub async fn delete_webhook(id: i64) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    crate::server::webhooks::delete(&state, admin.id, id)
        .await
        .map_err(refused)
}

/// Resumes a paused endpoint.
#[server(endpoint = "webhook_resume")]
pub async fn resume_webhook(id: i64) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    crate::server::webhooks::resume(&state, admin.id, id)
        .await
        .map_err(refused)
}

/// How a delivery went, in words: "Delivered (200)", "Failed: HTTP 500,
/// retrying 3 min from now".
fn outcome(d: &Delivery) -> String {
    let answer = match (d.last_status, &d.last_error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => String::new(),
    };
    match d.state {
        DeliveryState::Delivered => format!("Delivered ({answer})"),
        DeliveryState::Failed => format!("Gave up after {} attempts: {answer}", d.attempts),
        DeliveryState::Pending if d.attempts == 0 => "Waiting to be sent".into(),
        DeliveryState::Pending => format!(
            "Failed {} times ({answer}); next try {}",
            d.attempts,
            d.next_attempt_at.map(format_full).unwrap_or_default()
        ),
    }
}

/// One endpoint: its address, events, state and latest deliveries.
#[component]
fn Endpoint(
    hook: Webhook,
    delete: ServerAction<DeleteWebhook>,
    resume: ServerAction<ResumeWebhook>,
) -> impl IntoView {
    let id = hook.id;
    let events = hook
        .events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let paused = hook.paused.clone();
    let is_paused = paused.is_some();
    let delete_label = format!("Delete the endpoint {}", hook.url);
    let resume_label = format!("Resume the endpoint {}", hook.url);
    view! {
        <li class:paused=is_paused>
            <p class="webhook-url"><strong>{hook.url.clone()}</strong></p>
            <p class="muted">{format!("Sends {events}")}</p>
            {paused.map(|why| view! { <p class="form-problem">{why}</p> })}
            {(!hook.deliveries.is_empty()).then(|| view! {
                <details class="webhook-log">
                    <summary>"Latest deliveries"</summary>
                    <ul>
                        {hook.deliveries.iter().map(|d| view! {
                            <li>
                                <span class="webhook-event">{d.event.as_str()}</span>
                                " · " {format_ago(d.created_at)} " · " {outcome(d)}
                            </li>
                        }).collect_view()}
                    </ul>
                </details>
            })}
            <div class="webhook-actions">
                <Show when=move || is_paused>
                    <button type="button" class="button-small" aria-label=resume_label.clone()
                        disabled=move || resume.pending().get()
                        on:click=move |_| { resume.dispatch(ResumeWebhook { id }); }>
                        "Resume"
                    </button>
                </Show>
                <button type="button" class="button-small button-quiet danger" aria-label=delete_label
                    disabled=move || delete.pending().get()
                    on:click=move |_| { delete.dispatch(DeleteWebhook { id }); }>
                    "Delete"
                </button>
            </div>
        </li>
    }
}

/// The endpoints admins register, and the form.
#[component]
pub fn WebhooksCard() -> impl IntoView {
    let create = ServerAction::<RegisterWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let resume = ServerAction::<ResumeWebhook>::new();
    let hooks = Resource::new(
        move || {
            (
                create.version().get(),
                delete.version().get(),
                resume.version().get(),
            )
        },
        |_| webhooks_settings(),
    );
    let url = RwSignal::new(String::new());
    let chosen = RwSignal::new(WebhookEvent::ALL.to_vec());
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) {
            url.set(String::new());
        }
    });
    let problem = move || {
        [delete.value().get(), resume.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
    };
    view! {
        <section aria-labelledby="webhooks-title" class="team-card">
            <h2 id="webhooks-title">"Webhooks"</h2>
            <p class="team-hint">
                "Minicom tells your own systems what happens, as signed JSON posts: "
                "see the README for checking the " <code>"X-Minicom-Signature"</code>
                " header. A delivery that fails is tried again for a day; an endpoint "
                "that keeps failing is paused."
            </p>
            {move || problem().map(|e| view! { <p class="form-problem" role="alert">{refusal(e)}</p> })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match hooks.await {
                        Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="team-hint">"No endpoints yet."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="token-list webhook-list">
                                {list.into_iter().map(|hook| view! {
                                    <Endpoint hook delete resume />
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
            <form class="team-form webhook-form" novalidate on:submit=move |ev| {
                ev.prevent_default();
                let events = chosen
                    .get_untracked()
                    .iter()
                    .map(|e| e.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                create.dispatch(RegisterWebhook { url: url.get_untracked(), events });
            }>
                <label>
                    "Endpoint URL"
                    <input type="url" required maxlength=MAX_WEBHOOK_URL.to_string()
                        placeholder="https://crm.example.com/minicom" autocomplete="off"
                        bind:value=url />
                </label>
                <fieldset class="webhook-events">
                    <legend>"Events"</legend>
                    {WebhookEvent::ALL.into_iter().map(|event| view! {
                        <label class="check">
                            <input type="checkbox"
                                prop:checked=move || chosen.with(|c| c.contains(&event))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| {
                                        c.retain(|e| *e != event);
                                        if on {
                                            c.push(event);
                                        }
                                    });
                                } />
                            <span>{event.label()}</span>
                            <code>{event.as_str()}</code>
                        </label>
                    }).collect_view()}
                </fieldset>
                <button type="submit" class="button-small" disabled=move || create.pending().get()>
                    "Add endpoint"
                </button>
            </form>
            {move || create.value().get().map(|r| match r {
                Ok(made) => view! {
                    <div class="token-new" role="status">
                        <p>
                            <strong>"Copy the signing secret now: "</strong>
                            "it is shown only once. " {made.webhook.url}
                            " checks each request with it."
                        </p>
                        <code class="token-secret" id="webhook-secret">{made.secret}</code>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
            })}
        </section>
    }
}
