//! `/inbox/settings`: admins shape the messenger (brand colour, launcher
//! side, greeting, reply time, office hours), choose the sites that may embed
//! it, keep the team's saved replies, and copy the lines that install it. The rules live in
//! `server::workspace`; these server functions only check the session.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use super::blocks::BlocksCard;
use super::install::InstallCard;
use super::labels::LabelsCard;
use super::replies::{OwnRepliesCard, OwnRepliesState, WorkflowCard};
use super::sign_in::SignIn;
use super::team::{Access, refusal, team_access};
use super::tokens::ApiTokensCard;
use super::webhooks::WebhooksCard;
use crate::settings::{
    LauncherSide, MessengerForm, MessengerSettings, OfficeHours, ReplyTime, WEEKDAYS, clock,
};

#[cfg(feature = "ssr")]
use super::require_admin;

/// What the Settings page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub messenger: MessengerSettings,
    /// Sites set by `MINICOM_ALLOWED_ORIGINS` on the server (not editable here).
    pub fixed_origins: Vec<String>,
    /// Sites admins listed.
    pub origins: Vec<String>,
}

#[server]
pub async fn workspace_settings() -> Result<SettingsView, ServerFnError> {
    let (state, _) = require_admin().await?;
    let (fixed_origins, origins) = state.workspace.origins();
    Ok(SettingsView {
        messenger: state.workspace.messenger(),
        fixed_origins,
        origins,
    })
}

/// Saves how the messenger looks; open messengers change at once.
#[server(endpoint = "messenger_settings_save")]
pub async fn save_messenger_settings(form: MessengerForm) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    let settings = form.into_settings().map_err(ServerFnError::new)?;
    state
        .workspace
        .save_messenger(&state.store, &*state.bus, settings)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    crate::server::cluster::settings_changed(&state).await;
    tracing::info!(admin = admin.id.0, "changed the messenger's settings");
    Ok(())
}

/// Saves the sites that may embed the messenger (one origin per line).
#[server(endpoint = "embed_origins_save")]
pub async fn save_embed_origins(origins: String) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    let kept = state
        .workspace
        .save_origins(&state.store, &origins)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    crate::server::cluster::settings_changed(&state).await;
    tracing::info!(
        admin = admin.id.0,
        sites = kept.len(),
        "changed the sites that may embed the messenger"
    );
    Ok(())
}

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let access = Resource::new(|| (), |_| team_access());
    let own = OwnRepliesState::new();
    view! {
        <Title text="Settings — Minicom" />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match access.await {
                    Ok(Access::Admin { .. }) => EitherOf3::A(view! { <Settings own /> }),
                    Ok(Access::NotAdmin) => EitherOf3::B(view! {
                        <main class="team">
                            <p><a href="/inbox" rel="external">"← Inbox"</a></p>
                            <h1>"Settings"</h1>
                            <p>"Only admins can change the workspace's settings."</p>
                            <OwnRepliesCard replies=own />
                        </main>
                    }),
                    _ => EitherOf3::C(view! { <SignIn /> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn Settings(own: OwnRepliesState) -> impl IntoView {
    let save = ServerAction::<SaveMessengerSettings>::new();
    let save_sites = ServerAction::<SaveEmbedOrigins>::new();
    // Read once: a save keeps the form as typed (a refused one too), so
    // nothing an admin typed in one card is lost by saving the other.
    let settings = Resource::new(|| (), |_| workspace_settings());
    view! {
        <main class="team">
            <p><a href="/inbox" rel="external">"← Inbox"</a></p>
            <h1>"Settings"</h1>
            <Transition fallback=|| view! { <p>"Loading the settings…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(s) => view! {
                            <MessengerCard action=save settings=s.messenger />
                            <SitesCard action=save_sites fixed=s.fixed_origins listed=s.origins />
                        }.into_any(),
                        Err(e) => view! {
                            <p class="form-problem" role="alert">{refusal(e)}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
            // Outside the Transition above: it reads its own resource, which
            // must exist before the page streams (for hydration).
            <WorkflowCard />
            <OwnRepliesCard replies=own />
            <LabelsCard />
            <BlocksCard />
            <ApiTokensCard />
            <WebhooksCard />
            <InstallCard />
        </main>
    }
}

/// The outcome of the last save, for a screen reader and the eye.
fn outcome(result: Option<Result<(), ServerFnError>>) -> Option<AnyView> {
    result.map(|r| match r {
        Ok(()) => view! {
            <p class="form-success" role="status">"Saved. Open messengers show it now."</p>
        }
        .into_any(),
        Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
    })
}

/// Brand colour, launcher side, texts and office hours.
#[component]
fn MessengerCard(
    action: ServerAction<SaveMessengerSettings>,
    settings: MessengerSettings,
) -> impl IntoView {
    let hours_on = settings.office_hours.is_some();
    let hours = settings.office_hours.clone().unwrap_or_default();
    let saved_zone = settings.office_hours.as_ref().map(|h| h.time_zone.clone());
    let time_zone = RwSignal::new(
        saved_zone
            .clone()
            .unwrap_or_else(|| hours.time_zone.clone()),
    );
    // Office hours never set: suggest the admin's own time zone.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if saved_zone.is_none()
            && let Some(zone) = crate::client::time::time_zone()
        {
            time_zone.set(zone);
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = saved_zone;
    let zone_attribute = time_zone.get_untracked();
    let side = settings.launcher_side;
    let reply = settings.reply_time;
    let OfficeHours {
        days,
        opens,
        closes,
        ..
    } = hours;
    view! {
        <section aria-labelledby="messenger-title" class="team-card">
            <h2 id="messenger-title">"Messenger"</h2>
            <p class="team-hint">
                "How the messenger looks and what it says, on your site and at /messenger."
            </p>
            {move || outcome(action.value().get())}
            <ActionForm action attr:class="team-form stacked">
                <label>
                    "Team name"
                    <input type="text" name="form[team_name]" required
                        maxlength=crate::settings::MAX_NAME.to_string() value=settings.team_name />
                </label>
                <label class="colour-field">
                    "Brand colour"
                    <input type="color" name="form[brand_colour]" value=settings.brand_colour />
                </label>
                <fieldset class="choice">
                    <legend>"Launcher position"</legend>
                    <label>
                        <input type="radio" name="form[launcher_side]" value="right"
                            checked=side == LauncherSide::Right />
                        "Bottom right"
                    </label>
                    <label>
                        <input type="radio" name="form[launcher_side]" value="left"
                            checked=side == LauncherSide::Left />
                        "Bottom left"
                    </label>
                </fieldset>
                <label>
                    "Greeting"
                    <input type="text" name="form[greeting]" required
                        maxlength=crate::settings::MAX_GREETING.to_string() value=settings.greeting />
                </label>
                <label>
                    "Team introduction"
                    <textarea name="form[intro]" rows="2"
                        maxlength=crate::settings::MAX_TEXT.to_string()>{settings.intro}</textarea>
                </label>
                <label>
                    "Usual reply time (shown while nobody is online)"
                    <select name="form[reply_time]">
                        {ReplyTime::ALL.into_iter().map(|r| view! {
                            <option value=r.key() selected=r == reply>{r.sentence()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <fieldset class="office-hours">
                    <legend>"Office hours"</legend>
                    <label class="switch">
                        <input type="checkbox" name="form[office_hours]" checked=hours_on />
                        "Show the away message outside these hours"
                    </label>
                    <div class="weekdays" role="group" aria-label="Days">
                        {WEEKDAYS.into_iter().zip(days).map(|((key, label), on)| view! {
                            <label>
                                <input type="checkbox" name=format!("form[{key}]") checked=on />
                                {label}
                            </label>
                        }).collect_view()}
                    </div>
                    <div class="hours-row">
                        <label>"Opens" <input type="time" name="form[opens]" value=clock(opens) /></label>
                        <label>"Closes" <input type="time" name="form[closes]" value=clock(closes) /></label>
                    </div>
                    <label>
                        "Time zone"
                        <input type="text" name="form[time_zone]" autocomplete="off"
                            placeholder="Europe/Berlin" value=zone_attribute prop:value=time_zone
                            on:input=move |ev| time_zone.set(event_target_value(&ev)) />
                    </label>
                    <label>
                        "Away message"
                        <textarea name="form[away_message]" rows="2"
                            maxlength=crate::settings::MAX_TEXT.to_string()>{settings.away_message}</textarea>
                    </label>
                </fieldset>
                <button type="submit" class="button-primary">"Save"</button>
            </ActionForm>
        </section>
    }
}

/// The sites that may embed the messenger.
#[component]
fn SitesCard(
    action: ServerAction<SaveEmbedOrigins>,
    fixed: Vec<String>,
    listed: Vec<String>,
) -> impl IntoView {
    view! {
        <section aria-labelledby="sites-title" class="team-card">
            <h2 id="sites-title">"Sites that may embed the messenger"</h2>
            <p class="team-hint">
                "Only pages on these sites can show the messenger in a frame, open its "
                "connection and say who their signed-in user is. One per line, scheme and "
                "host only, like https://shop.example.com."
            </p>
            {(!fixed.is_empty()).then(|| view! {
                <p class="team-hint">"Set on the server (MINICOM_ALLOWED_ORIGINS), always allowed:"</p>
                <ul class="fixed-sites">
                    {fixed.into_iter().map(|o| view! { <li><code>{o}</code></li> }).collect_view()}
                </ul>
            })}
            {move || outcome(action.value().get())}
            <ActionForm action attr:class="team-form stacked">
                <label>
                    "Sites"
                    <textarea name="origins" rows="4" spellcheck="false"
                        placeholder="https://shop.example.com">{listed.join("\n")}</textarea>
                </label>
                <button type="submit" class="button-primary">"Save sites"</button>
            </ActionForm>
        </section>
    }
}
