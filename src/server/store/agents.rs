//! Team members (agents and admins) and their sign-in sessions.

use sqlx::Row;

use super::engine::flag;
use super::{Store, StoreError, now};
use crate::protocol::{AgentId, Timestamp};

/// What an agent may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Manages the team and settings.
    Admin,
    /// Answers conversations.
    Agent,
}

impl Role {
    /// The stored name (`admin`, `agent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent => "agent",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "admin" => Ok(Self::Admin),
            "agent" => Ok(Self::Agent),
            other => Err(StoreError::Corrupt(format!("unknown agent role {other:?}"))),
        }
    }
}

/// A stored team member.
#[derive(Clone, Debug)]
pub struct AgentRecord {
    pub id: AgentId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub active: bool,
}

impl AgentRecord {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: AgentId(row.try_get("id")?),
            email: row.try_get("email")?,
            name: row.try_get("name")?,
            role: Role::parse(row.try_get("role")?)?,
            password_hash: row.try_get("password_hash")?,
            active: flag(row, "active")?,
        })
    }
}

const AGENT_COLUMNS: &str = "id, email, name, role, password_hash, active";

impl Store {
    /// How many agents exist (active or not).
    pub async fn count_agents(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM agents")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Adds a team member; the email must be new.
    pub async fn create_agent(
        &self,
        email: &str,
        name: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<AgentId, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agents (email, name, password_hash, role, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(email)
        .bind(name)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now().0)
        .fetch_one(&self.pool)
        .await?;
        Ok(AgentId(id))
    }

    /// The agent with this email (any case), if any.
    pub async fn agent_by_email(&self, email: &str) -> Result<Option<AgentRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE lower(email) = lower($1)"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(AgentRecord::from_row).transpose()
    }

    /// The agent with this id, if any.
    pub async fn agent(&self, id: AgentId) -> Result<Option<AgentRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(AgentRecord::from_row).transpose()
    }

    /// Records a new sign-in session.
    pub async fn create_session(
        &self,
        token_hash: &[u8],
        agent: AgentId,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agent_sessions (token_hash, agent_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(agent.0)
        .bind(now().0)
        .bind(expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The active agent behind an unexpired session.
    pub async fn agent_by_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<AgentRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT a.id, a.email, a.name, a.role, a.password_hash, a.active
             FROM agent_sessions s JOIN agents a ON a.id = s.agent_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.active = TRUE",
        )
        .bind(token_hash)
        .bind(now().0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(AgentRecord::from_row).transpose()
    }

    /// Every team member, admins first, then by name.
    pub async fn list_agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents ORDER BY role = 'agent', lower(name), id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(AgentRecord::from_row).collect()
    }

    /// Lets a team member sign in again, or not; deactivating also ends all
    /// their sessions. Returns false when there is no such agent.
    pub async fn set_agent_active(&self, id: AgentId, active: bool) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let found = sqlx::query("UPDATE agents SET active = $1 WHERE id = $2")
            .bind(active)
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if !active {
            sqlx::query("DELETE FROM agent_sessions WHERE agent_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(found)
    }

    /// How many active admins there are (the last one may not be deactivated).
    pub async fn count_active_admins(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM agents WHERE role = 'admin' AND active = TRUE",
            )
            .fetch_one(&self.pool)
            .await?,
        )
    }

    /// Ends a session (sign-out).
    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM agent_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
