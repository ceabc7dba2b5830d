//! "API tokens" on the Settings page (admins): make a token for another
//! system (shown once), see when each was last used, revoke one. Its server
//! functions check the session, then call `server::api::tokens`.

use leptos::prelude::*;

use super::team::{emptied_when, refusal};
use crate::client::time::{format_ago, format_full};
use crate::protocol::{ApiScope, ApiToken, MAX_TOKEN_NAME_CHARS, NewApiToken};

#[cfg(feature = "ssr")]
use super::require_admin;

/// The sentence an admin reads: the rule that was broken, or that the
/// database did not answer (its details go to the log).
#[cfg(feature = "ssr")]
fn refused(err: crate::server::api::tokens::TokenError) -> ServerFnError {
    use crate::server::api::tokens::TokenError;
    if let TokenError::Store(store) = &err {
        tracing::error!(err = %store, "could not read or change an API token");
        return ServerFnError::new("The database did not answer; try again in a moment.");
    }
    ServerFnError::new(err.to_string())
}

/// Every token (admins).
#[server(endpoint = "api_tokens")]
pub async fn api_tokens() -> Result<Vec<ApiToken>, ServerFnError> {
    let (state, _) = require_admin().await?;
    crate::server::api::tokens::list(&state)
        .await
        .map_err(refused)
}

/// Makes a token; its secret is in the answer, once.
#[server(endpoint = "api_token_create")]
pub async fn create_api_token(name: String, scope: String) -> Result<NewApiToken, ServerFnError> {
    let (state, admin) = require_admin().await?;
    crate::server::api::tokens::create(&state, admin.id, &name, &scope)
        .await
        .map_err(refused)
}

/// Revokes a token.
#[server(endpoint = "api_token_revoke")]
pub async fn revoke_api_token(id: i64) -> Result<(), ServerFnError> {
    let (state, admin) = require_admin().await?;
    crate::server::api::tokens::revoke(&state, admin.id, id)
        .await
        .map_err(refused)
}

/// When a token was last used, in words.
fn used(token: &ApiToken) -> String {
    match token.last_used_at {
        Some(at) => format!("Last used {}", format_ago(at)),
        None => "Never used".into(),
    }
}

/// The tokens admins make and revoke.
#[component]
pub fn ApiTokensCard() -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| api_tokens(),
    );
    view! {
        <section aria-labelledby="tokens-title" class="team-card">
            <h2 id="tokens-title">"API tokens"</h2>
            <p class="team-hint">
                "Your other systems (a CRM, your shop's backend) use a token to read conversations "
                "and post into them through the API (" <code>"/api/v1"</code> ", described at "
                <a href="/api/v1/openapi.json" rel="external">"/api/v1/openapi.json"</a> ")."
            </p>
            {move || revoke.value().get().and_then(Result::err).map(|e| view! {
                <p class="form-problem" role="alert">{refusal(e)}</p>
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! {
                            <p class="team-hint">"No tokens yet."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="token-list">
                                {list.into_iter().map(|t| {
                                    let id = t.id;
                                    let label = format!("Revoke {}", t.name);
                                    let made = format!(
                                        "Made {}{}",
                                        format_full(t.created_at),
                                        t.created_by.as_deref().map(|by| format!(" by {by}")).unwrap_or_default(),
                                    );
                                    let state = match t.revoked_at {
                                        Some(at) => format!("Revoked {}", format_ago(at)),
                                        None => used(&t),
                                    };
                                    let live = t.revoked_at.is_none();
                                    view! {
                                        <li class:revoked=!live>
                                            <div class="token-who">
                                                <strong>{t.name.clone()}</strong>
                                                <span class="token-scope">{t.scope.label()}</span>
                                            </div>
                                            <p class="muted">{made}</p>
                                            <p class="muted">{state}</p>
                                            <Show when=move || live>
                                                <button type="button" class="button-small button-quiet danger"
                                                    aria-label=label.clone() disabled=move || revoke.pending().get()
                                                    on:click=move |_| { revoke.dispatch(RevokeApiToken { id }); }>
                                                    "Revoke"
                                                </button>
                                            </Show>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=create node_ref=emptied_when(move || {
                matches!(create.value().get(), Some(Ok(_)))
            }) attr:class="team-form">
                <label>
                    "Name"
                    <input type="text" name="name" required maxlength=MAX_TOKEN_NAME_CHARS.to_string()
                        placeholder="Shop backend" autocomplete="off" />
                </label>
                <label>
                    "Access"
                    <select name="scope">
                        {ApiScope::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str()>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button-small">"Create token"</button>
            </ActionForm>
            {move || create.value().get().map(|r| match r {
                Ok(made) => view! {
                    <div class="token-new" role="status">
                        <p>
                            <strong>"Copy this token now: "</strong>
                            "it is shown only once. " {made.token.name} " can "
                            {if made.token.scope == ApiScope::Write { "read and write" } else { "only read" }} "."
                        </p>
                        <code class="token-secret" id="token-secret">{made.secret}</code>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="form-problem" role="alert">{refusal(e)}</p> }.into_any(),
            })}
        </section>
    }
}
