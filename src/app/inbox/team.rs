//! `/inbox/team`: admins add teammates and deactivate them.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use super::sign_in::SignIn;

/// One teammate as the team page shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Teammate {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `admin` or `agent`.
    pub role: String,
    pub active: bool,
}

/// Who may see the team page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    SignedOut,
    NotAdmin,
    Admin { id: i64 },
}

#[cfg(feature = "ssr")]
use super::{require_admin, session_agent};

/// Whether the visitor of the page may manage the team.
#[server]
pub async fn team_access() -> Result<Access, ServerFnError> {
    use crate::server::store::Role;
    Ok(match session_agent().await? {
        (_, None) => Access::SignedOut,
        (_, Some(agent)) if agent.role == Role::Admin => Access::Admin { id: agent.id.0 },
        (_, Some(_)) => Access::NotAdmin,
    })
}

/// Everyone on the team.
#[server]
pub async fn team() -> Result<Vec<Teammate>, ServerFnError> {
    let (state, _) = require_admin().await?;
    let agents = state
        .store
        .list_agents()
        .await
        .map_err(|e| ServerFnError::new(format!("could not load the team: {e}")))?;
    Ok(agents
        .into_iter()
        .map(|a| Teammate {
            id: a.id.0,
            email: a.email,
            name: a.name,
            role: a.role.as_str().to_owned(),
            active: a.active,
        })
        .collect())
}

/// Adds a teammate with a generated password, returned once.
#[server]
pub async fn add_teammate(
    email: String,
    name: String,
    role: String,
) -> Result<String, ServerFnError> {
    use crate::server::auth;
    use crate::server::store::Role;
    let (state, admin) = require_admin().await?;
    let email = email.trim().to_owned();
    let name = name.trim().to_owned();
    if !crate::protocol::looks_like_email(&email) || email.len() > 200 {
        return Err(ServerFnError::new(
            "Enter a valid email address, like ana@example.com.",
        ));
    }
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(ServerFnError::new("Enter a name of at most 80 characters."));
    }
    let role = match role.as_str() {
        "agent" => Role::Agent,
        "admin" => Role::Admin,
        _ => return Err(ServerFnError::new("Pick a role: agent or admin.")),
    };
    let store = &state.store;
    let taken = store
        .agent_by_email(&email)
        .await
        .map_err(|e| ServerFnError::new(format!("could not check the email: {e}")))?;
    if taken.is_some() {
        return Err(ServerFnError::new(format!(
            "{email} is already on the team."
        )));
    }
    let password = auth::generate_password();
    let to_hash = password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&to_hash))
        .await
        .map_err(|e| ServerFnError::new(format!("password hashing stopped: {e}")))?
        .map_err(|e| ServerFnError::new(format!("password hashing failed: {e}")))?;
    store
        .create_agent(&email, &name, &hash, role)
        .await
        .map_err(|e| ServerFnError::new(format!("could not add the teammate: {e}")))?;
    tracing::info!(admin = admin.id.0, role = role.as_str(), "added a teammate");
    Ok(password)
}

/// Deactivates a teammate (signing them out everywhere) or activates them.
#[server]
pub async fn set_teammate_active(id: i64, active: bool) -> Result<(), ServerFnError> {
    use crate::protocol::AgentId;
    use crate::server::store::Role;
    let (state, admin) = require_admin().await?;
    let store = &state.store;
    if !active {
        if id == admin.id.0 {
            return Err(ServerFnError::new("You cannot deactivate yourself."));
        }
        let agents = store
            .list_agents()
            .await
            .map_err(|e| ServerFnError::new(format!("could not load the team: {e}")))?;
        let target = agents.iter().find(|a| a.id.0 == id);
        let admins = agents
            .iter()
            .filter(|a| a.role == Role::Admin && a.active)
            .count();
        if target.is_some_and(|t| t.role == Role::Admin && t.active) && admins <= 1 {
            return Err(ServerFnError::new(
                "The last active admin cannot be deactivated.",
            ));
        }
    }
    let found = store
        .set_agent_active(AgentId(id), active)
        .await
        .map_err(|e| ServerFnError::new(format!("could not change the teammate: {e}")))?;
    if !found {
        return Err(ServerFnError::new("That teammate no longer exists."));
    }
    if !active {
        crate::server::cluster::signed_out(&state, vec![AgentId(id)]).await;
    }
    tracing::info!(admin = admin.id.0, agent = id, active, "changed a teammate");
    Ok(())
}

/// The identity-verification settings an admin sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityConfig {
    /// Only visitors the embedding site verified may chat.
    pub required: bool,
    /// What the site signs `user_id` with (shown to admins only).
    pub secret: String,
}

/// The identity-verification settings.
#[server]
pub async fn identity_settings() -> Result<IdentityConfig, ServerFnError> {
    let (state, _) = require_admin().await?;
    Ok(IdentityConfig {
        required: state
            .require_verified
            .load(std::sync::atomic::Ordering::Relaxed),
        secret: state.identity_secret.as_str().to_owned(),
    })
}

/// Turns "only verified visitors may chat" on or off, at once for new
/// sockets (and kept across restarts).
#[server]
pub async fn set_identity_required(required: bool) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    state
        .store
        .set_setting(
            crate::server::REQUIRE_VERIFIED,
            if required { "1" } else { "0" },
        )
        .await
        .map_err(|e| ServerFnError::new(format!("could not save the setting: {e}")))?;
    state.require_verified.store(
        required || state.config.require_verified,
        std::sync::atomic::Ordering::Relaxed,
    );
    crate::server::cluster::settings_changed(&state).await;
    tracing::info!(
        admin = admin.id.0,
        required,
        "changed identity verification"
    );
    Ok(())
}

/// The assistant's settings an admin sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantConfigView {
    /// The server runs an engine (MINICOM_ASSISTANT is not `off`).
    pub available: bool,
    /// New conversations are answered by the assistant.
    pub enabled: bool,
    pub company: String,
    /// The admins' own system prompt; empty for the default.
    pub prompt: String,
    pub default_prompt: String,
}

/// Longest system prompt admins may save.
pub const MAX_PROMPT_CHARS: usize = 4_000;

#[server]
pub async fn assistant_settings() -> Result<AssistantConfigView, ServerFnError> {
    use crate::server::assistant;
    let (state, _) = require_admin().await?;
    let setting = |key| {
        let store = state.store.clone();
        async move { store.setting(key).await.ok().flatten().unwrap_or_default() }
    };
    Ok(AssistantConfigView {
        available: state.assistant.is_some(),
        enabled: state
            .assistant
            .as_ref()
            .is_some_and(|a| a.enabled.load(std::sync::atomic::Ordering::Relaxed)),
        company: setting(assistant::COMPANY).await,
        prompt: setting(assistant::PROMPT).await,
        default_prompt: assistant::DEFAULT_PROMPT.into(),
    })
}

/// Saves the assistant's settings (they apply to the next answer).
#[server(endpoint = "assistant_settings_save")]
pub async fn save_assistant_settings(
    enabled: Option<String>,
    company: String,
    prompt: String,
) -> Result<(), ServerFnError> {
    use crate::server::assistant;
    let (state, admin) = require_admin().await?;
    let company = company.trim();
    let prompt = prompt.trim();
    if company.chars().count() > 120 {
        return Err(ServerFnError::new(
            "The company name is limited to 120 characters.",
        ));
    }
    if prompt.chars().count() > MAX_PROMPT_CHARS {
        return Err(ServerFnError::new(format!(
            "The instructions are limited to {MAX_PROMPT_CHARS} characters."
        )));
    }
    let enabled = enabled.is_some_and(|v| v == "on" || v == "true" || v == "1");
    let save = |key, value: String| {
        let store = state.store.clone();
        async move {
            store
                .set_setting(key, &value)
                .await
                .map_err(|e| ServerFnError::new(format!("could not save the setting: {e}")))
        }
    };
    save(assistant::ENABLED, if enabled { "1" } else { "0" }.into()).await?;
    save(assistant::COMPANY, company.into()).await?;
    save(assistant::PROMPT, prompt.into()).await?;
    if let Some(engine) = &state.assistant {
        engine
            .enabled
            .store(enabled, std::sync::atomic::Ordering::Relaxed);
    }
    crate::server::cluster::settings_changed(&state).await;
    tracing::info!(
        admin = admin.id.0,
        enabled,
        "changed the assistant's settings"
    );
    Ok(())
}

/// The team page.
#[component]
pub fn TeamPage() -> impl IntoView {
    let access = Resource::new(|| (), |_| team_access());
    view! {
        <Title text="Team — Minicom" />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match access.await {
                    Ok(Access::Admin { id }) => EitherOf3::A(view! { <Team me=id /> }),
                    Ok(Access::NotAdmin) => EitherOf3::B(view! {
                        <main class="team">
                            <h1>"Team"</h1>
                            <p>"Only admins can manage the team. Ask an admin to add or remove teammates."</p>
                            <p><a href="/inbox" rel="external">"Back to the inbox"</a></p>
                        </main>
                    }),
                    _ => EitherOf3::C(view! { <SignIn /> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn Team(me: i64) -> impl IntoView {
    let add = ServerAction::<AddTeammate>::new();
    let toggle = ServerAction::<SetTeammateActive>::new();
    let members = Resource::new(
        move || (add.version().get(), toggle.version().get()),
        |_| team(),
    );
    let added = move || add.value().get().and_then(|r| r.err()).map(refusal);
    let toggled = move || toggle.value().get().and_then(|r| r.err()).map(refusal);
    view! {
        <main class="team">
            <p><a href="/inbox" rel="external">"← Inbox"</a></p>
            <h1>"Team"</h1>
            <section aria-labelledby="add-title" class="team-card">
                <h2 id="add-title">"Add a teammate"</h2>
                <ActionForm action=add attr:class="team-form">
                    <label>"Name" <input type="text" name="name" required maxlength="80" /></label>
                    <label>"Email" <input type="email" name="email" required maxlength="200" /></label>
                    <label>
                        "Role"
                        <select name="role">
                            <option value="agent" selected>"Agent — answers conversations"</option>
                            <option value="admin">"Admin — also manages the team"</option>
                        </select>
                    </label>
                    <button type="submit" class="button-primary">"Add teammate"</button>
                </ActionForm>
                {move || added().map(|p| view! { <p class="form-problem" role="alert">{p}</p> })}
                {move || add.value().get().and_then(Result::ok).map(|password| view! {
                    <p class="form-success" role="status">
                        "Added. Their password, shown only this once: "
                        <code class="password">{password}</code>
                        " — share it privately; they sign in at /inbox."
                    </p>
                })}
            </section>
            <AssistantCard />
            <IdentityCard />
            <section aria-labelledby="settings-link-title" class="team-card">
                <h2 id="settings-link-title">"Messenger"</h2>
                <p class="team-hint">
                    "Its colour, greeting, office hours, the sites that may embed it and the "
                    "lines to paste into your website are under "
                    <a href="/inbox/settings" rel="external">"Settings"</a> "."
                </p>
            </section>
            <section aria-labelledby="members-title" class="team-card">
                <h2 id="members-title">"Members"</h2>
                {move || toggled().map(|p| view! { <p class="form-problem" role="alert">{p}</p> })}
                <Transition fallback=|| view! { <p>"Loading the team…"</p> }>
                    {move || Suspend::new(async move {
                        match members.await {
                            Ok(list) => view! {
                                <table class="team-table">
                                    <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|m| {
                                            let id = m.id;
                                            let active = m.active;
                                            let label = if active { "Deactivate" } else { "Activate" };
                                            view! {
                                                <tr class:inactive=!active>
                                                    <td>{m.name.clone()}</td>
                                                    <td>{m.email.clone()}</td>
                                                    <td>{m.role.clone()}</td>
                                                    <td>{if active { "Active" } else { "Deactivated" }}</td>
                                                    <td>
                                                        {(id != me).then(|| view! {
                                                            <button type="button" class="button-quiet"
                                                                aria-label=format!("{label} {}", m.name)
                                                                on:click=move |_| {
                                                                    toggle.dispatch(SetTeammateActive { id, active: !active });
                                                                }>{label}</button>
                                                        })}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                            Err(e) => view! { <p class="form-problem" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </main>
    }
}

/// The identity-verification switch and the secret to sign with.
#[component]
fn IdentityCard() -> impl IntoView {
    let toggle = ServerAction::<SetIdentityRequired>::new();
    let settings = Resource::new(move || toggle.version().get(), |_| identity_settings());
    view! {
        <section aria-labelledby="identity-title" class="team-card">
            <h2 id="identity-title">"Visitor identity"</h2>
            <p class="team-hint">
                "Sites that embed the messenger sign their user's id with this secret "
                "(HMAC-SHA256, see the README) so conversations follow the user across devices."
            </p>
            {move || toggle.value().get().and_then(|r| r.err()).map(|e| view! {
                <p class="form-problem" role="alert">{refusal(e)}</p>
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    settings.await.ok().map(|s| {
                        let required = s.required;
                        view! {
                            <label class="switch">
                                <input
                                    type="checkbox"
                                    prop:checked=required
                                    on:change=move |_| {
                                        toggle.dispatch(SetIdentityRequired { required: !required });
                                    }
                                />
                                "Only verified visitors may chat"
                            </label>
                            <p class="team-hint">
                                "Identity secret (keep it on your server): "
                                <code class="secret">{s.secret}</code>
                            </p>
                        }
                    })
                })}
            </Transition>
        </section>
    }
}

/// The assistant's switch, the company it speaks for and its instructions.
#[component]
fn AssistantCard() -> impl IntoView {
    let save = ServerAction::<SaveAssistantSettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| assistant_settings());
    view! {
        <section aria-labelledby="assistant-title" class="team-card">
            <h2 id="assistant-title">"AI assistant"</h2>
            <p class="team-hint">
                "Answers visitors in new conversations until a teammate replies. Visitors can "
                "always ask for a person; you can switch it back on in any conversation."
            </p>
            {move || save.value().get().map(|r| match r {
                Ok(()) => view! { <p class="form-success" role="status">"Saved."</p> }.into_any(),
                Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    settings.await.ok().map(|s| if !s.available {
                        view! {
                            <p class="team-hint">
                                "This server runs no assistant (MINICOM_ASSISTANT=off); see the README to choose a model or an endpoint."
                            </p>
                        }.into_any()
                    } else {
                        view! {
                            <ActionForm action=save attr:class="team-form stacked">
                                <label class="switch">
                                    <input type="checkbox" name="enabled" checked=s.enabled />
                                    "Answer new conversations with the assistant"
                                </label>
                                <label>
                                    "Company name"
                                    <input type="text" name="company" maxlength="120"
                                        value=s.company placeholder="Northwind Coffee" />
                                </label>
                                <label>
                                    "Instructions (leave empty for the default)"
                                    <textarea name="prompt" rows="5" maxlength=MAX_PROMPT_CHARS.to_string()
                                        placeholder=s.default_prompt>{s.prompt}</textarea>
                                </label>
                                <button type="submit" class="button-primary">"Save"</button>
                            </ActionForm>
                        }.into_any()
                    })
                })}
            </Transition>
        </section>
    }
}

/// A form that empties itself once `saved()` says its last save went
/// through (a refused one keeps what was typed, to mend it).
pub(super) fn emptied_when(saved: impl Fn() -> bool + 'static) -> NodeRef<leptos::html::Form> {
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if saved()
            && let Some(form) = form.get_untracked()
        {
            form.reset();
        }
    });
    form
}

/// The sentence a refused server function gave, for the person.
pub(super) fn refusal(error: ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    }
}
