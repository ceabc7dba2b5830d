//! API tokens: made and revoked by admins, looked up by their hash on every
//! API request (see `server::api`).

use sqlx::Row;

use super::{Store, StoreError, now};
use crate::protocol::{AgentId, ApiScope, ApiToken, Timestamp};

/// What a request's token may do, as looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenGrant {
    pub id: i64,
    pub name: String,
    pub scope: ApiScope,
    pub last_used_at: Option<Timestamp>,
}

const TOKEN_COLUMNS: &str = "t.id, t.name, t.scope, t.created_at, t.last_used_at, t.revoked_at,
    a.name AS created_by";

fn scope_of(row: &sqlx::any::AnyRow) -> Result<ApiScope, StoreError> {
    let scope: String = row.try_get("scope")?;
    ApiScope::parse(&scope).ok_or_else(|| StoreError::Corrupt(format!("bad token scope {scope:?}")))
}

fn token_from_row(row: &sqlx::any::AnyRow) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scope: scope_of(row)?,
        created_by: row.try_get("created_by")?,
        created_at: Timestamp(row.try_get("created_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp),
    })
}

impl Store {
    /// Keeps a new token's hash; returns it as listed.
    pub async fn create_api_token(
        &self,
        name: &str,
        scope: ApiScope,
        token_hash: &[u8],
        by: AgentId,
    ) -> Result<ApiToken, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, token_hash, scope, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(token_hash)
        .bind(scope.as_str())
        .bind(by.0)
        .bind(now().0)
        .fetch_one(&self.pool)
        .await?;
        self.api_tokens()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| StoreError::Corrupt("a new API token vanished".into()))
    }

    /// Every token, live ones first, newest first.
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens t LEFT JOIN agents a ON a.id = t.created_by
             ORDER BY t.revoked_at IS NOT NULL, t.id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes a token; `false` when it was revoked already or is unknown.
    pub async fn revoke_api_token(&self, id: i64) -> Result<bool, StoreError> {
        let revoked: Option<i64> = sqlx::query_scalar(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL
             RETURNING id",
        )
        .bind(now().0)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(revoked.is_some())
    }

    /// The live token with this hash, if any.
    pub async fn api_token_by_hash(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<TokenGrant>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, scope, last_used_at FROM api_tokens
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(TokenGrant {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                scope: scope_of(&row)?,
                last_used_at: row
                    .try_get::<Option<i64>, _>("last_used_at")?
                    .map(Timestamp),
            })
        })
        .transpose()
    }

    /// Records that a token was used at `at`.
    pub async fn touch_api_token(&self, id: i64, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(at.0)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
