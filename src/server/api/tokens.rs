//! Making, listing and revoking API tokens (admins, on the Settings page;
//! `app::inbox::tokens` only checks the session and calls here).
//!
//! A token is `mc_` and 64 hex digits (32 random bytes): the prefix lets
//! secret scanners and people tell it from other keys. It is shown once;
//! only its SHA-256 is kept.

use crate::protocol::{AgentId, ApiScope, ApiToken, MAX_TOKEN_NAME_CHARS, NewApiToken};
use crate::server::AppState;
use crate::server::auth::{new_token, token_hash};
use crate::server::store::StoreError;

/// What every token starts with.
const PREFIX: &str = "mc_";

/// Why making or revoking a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "Name the token after what uses it (1 to {MAX_TOKEN_NAME_CHARS} characters, e.g. \"Shop backend\"): bots it posts as carry this name."
    )]
    Name,
    #[error("Choose what the token may do: read only, or read and write.")]
    Scope,
    #[error("That token was revoked already.")]
    Revoked,
    #[error("could not reach the database: {0}")]
    Store(#[from] StoreError),
}

/// A name for a token or a bot: trimmed, 1 to `MAX_TOKEN_NAME_CHARS`
/// characters, no control characters.
pub fn check_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let chars = name.chars().count();
    ((1..=MAX_TOKEN_NAME_CHARS).contains(&chars) && !name.chars().any(char::is_control))
        .then_some(name)
}

/// Makes a token; the secret is in the answer and nowhere else.
pub async fn create(
    state: &AppState,
    by: AgentId,
    name: &str,
    scope: &str,
) -> Result<NewApiToken, TokenError> {
    let name = check_name(name).ok_or(TokenError::Name)?;
    let scope = ApiScope::parse(scope).ok_or(TokenError::Scope)?;
    let secret = format!("{PREFIX}{}", new_token());
    let token = state
        .store
        .create_api_token(name, scope, &token_hash(&secret), by)
        .await?;
    tracing::info!(
        agent = by.0,
        token = token.id,
        scope = scope.as_str(),
        "made an API token"
    );
    Ok(NewApiToken { secret, token })
}

/// Every token, live ones first.
pub async fn list(state: &AppState) -> Result<Vec<ApiToken>, TokenError> {
    Ok(state.store.api_tokens().await?)
}

/// Revokes a token: the next request with it is refused, on every
/// instance (each request looks its token up).
pub async fn revoke(state: &AppState, by: AgentId, id: i64) -> Result<(), TokenError> {
    if !state.store.revoke_api_token(id).await? {
        return Err(TokenError::Revoked);
    }
    tracing::info!(agent = by.0, token = id, "revoked an API token");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(check_name("  Shop backend "), Some("Shop backend"));
        assert_eq!(check_name("   "), None);
        assert_eq!(check_name("a\nb"), None);
        assert!(check_name(&"é".repeat(MAX_TOKEN_NAME_CHARS)).is_some());
        assert_eq!(check_name(&"é".repeat(MAX_TOKEN_NAME_CHARS + 1)), None);
    }
}
