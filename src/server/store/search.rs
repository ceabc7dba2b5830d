//! The reads behind the team's search, on each engine's own full-text
//! index: FTS5 tables on SQLite, `tsvector` and GIN on PostgreSQL (see the
//! `search` migrations; the indexes follow every write in its own
//! transaction). What to search for and how hits become results is
//! `server::search`'s concern; this file only reads.

use sqlx::Row;

use super::engine::flag;
use super::{Engine, Store, StoreError};
use crate::protocol::{
    AgentId, AssigneeFilter, ConversationId, ConversationStatus, LabelId, MessageId, SearchFrom,
    SearchOrder, SearchQuery, SenderKind, Timestamp,
};

/// Best-match order ranks the newest this many matches.
const RANKED: i64 = 2_000;

/// Words to find, each as the start of a word; all of them must match.
/// Only letters and digits: nothing in them is syntax to either engine.
/// As typed: each engine folds their case itself.
pub struct Terms(pub Vec<String>);

impl Terms {
    /// FTS5: `"refund"* "a1234"*`.
    fn fts5(&self) -> String {
        self.0
            .iter()
            .map(|t| format!("\"{t}\"*"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// PostgreSQL: `'refund':* & 'a1234':*`.
    fn tsquery(&self) -> String {
        self.0
            .iter()
            .map(|t| format!("'{t}':*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    fn for_engine(&self, engine: Engine) -> String {
        match engine {
            Engine::Sqlite => self.fts5(),
            Engine::Postgres => self.tsquery(),
        }
    }
}

/// A matching message.
pub struct MessageHit {
    pub message: MessageId,
    pub conversation: ConversationId,
    pub body: String,
    pub created_at: Timestamp,
    pub sender: SenderKind,
    pub internal: bool,
}

/// A conversation that matched by its visitor's name or email, or a label.
pub struct ConversationHit {
    pub conversation: ConversationId,
    /// The text that matched: "name email", or the label's name.
    pub text: String,
    pub last_activity: Timestamp,
}

/// What a result shows of its conversation.
pub struct SearchRow {
    pub conversation: ConversationId,
    pub contact_name: String,
    pub status: ConversationStatus,
    pub assignee: Option<AgentId>,
}

/// A bound value of a query built from filters.
enum Arg {
    Int(i64),
    Text(String),
}

/// The filters' `WHERE` conditions on `c` (conversations) and, for message
/// hits, `m` (messages), numbering parameters after `first`.
struct Conditions {
    sql: String,
    args: Vec<Arg>,
    next: usize,
}

impl Conditions {
    fn new(first: usize) -> Self {
        Self {
            sql: String::new(),
            args: Vec::new(),
            next: first,
        }
    }

    /// Adds `AND <condition>`, where `?` stands for the next parameter.
    fn and(&mut self, condition: &str, arg: Option<Arg>) {
        self.sql.push_str(" AND ");
        match arg {
            Some(arg) => {
                self.sql
                    .push_str(&condition.replace('?', &format!("${}", self.next)));
                self.next += 1;
                self.args.push(arg);
            }
            None => self.sql.push_str(condition),
        }
    }

    /// The conversation's own filters; `time` is the column the date range
    /// applies to.
    fn of(query: &SearchQuery, time: &str, first: usize) -> Self {
        let mut this = Self::new(first);
        if let Some(status) = query.status {
            this.and("c.status = ?", Some(Arg::Text(status.as_str().to_owned())));
        }
        match query.assignee {
            Some(AssigneeFilter::Unassigned) => this.and("c.assignee_id IS NULL", None),
            Some(AssigneeFilter::Agent(agent)) => {
                this.and("c.assignee_id = ?", Some(Arg::Int(agent.0)))
            }
            None => {}
        }
        if let Some(label) = query.label {
            this.and(
                "EXISTS (SELECT 1 FROM conversation_labels x
                         WHERE x.conversation_id = c.id AND x.label_id = ?)",
                Some(Arg::Int(label.0)),
            );
        }
        if let Some(since) = query.since {
            this.and(&format!("{time} >= ?"), Some(Arg::Int(since.0)));
        }
        if let Some(until) = query.until {
            this.and(&format!("{time} < ?"), Some(Arg::Int(until.0)));
        }
        this
    }

    fn bind<'q>(
        self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for arg in self.args {
            query = match arg {
                Arg::Int(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
            };
        }
        query
    }
}

impl Store {
    /// Messages holding every term, newest or best first, at most `limit`.
    /// Deleted messages and the system's lines are not in the index.
    /// With `before` (newest order), only messages older than that one:
    /// the next page.
    pub async fn search_messages(
        &self,
        terms: &Terms,
        query: &SearchQuery,
        before: Option<MessageId>,
        limit: i64,
    ) -> Result<Vec<MessageHit>, StoreError> {
        let mut conditions = Conditions::of(query, "m.created_at", 3);
        match query.from {
            Some(SearchFrom::Visitor) => conditions.and("m.sender_kind = 'contact'", None),
            Some(SearchFrom::Team) => conditions.and("m.sender_kind IN ('agent', 'ai')", None),
            None => {}
        }
        if let Some(before) = before {
            // On SQLite the index's own rowid, so FTS5 starts there.
            let column = match self.engine() {
                Engine::Sqlite => "s.rowid < ?",
                Engine::Postgres => "m.id < ?",
            };
            conditions.and(column, Some(Arg::Int(before.0)));
        }
        // Ranked among the newest `RANKED` matches that pass the filters
        // (filtered inside, so a narrow filter still finds its matches):
        // ranking every match of a common word costs more than the answer
        // is worth.
        let filters = &conditions.sql;
        // Unfiltered, the index alone picks them (no join per match).
        let (joined, pg_joined) = if filters.is_empty() {
            ("", "")
        } else {
            (
                " JOIN messages m ON m.id = s.rowid JOIN conversations c ON c.id = m.conversation_id",
                " JOIN conversations c ON c.id = m.conversation_id",
            )
        };
        let (from, matches, order) = match (self.engine(), query.order) {
            (Engine::Sqlite, SearchOrder::Newest) => (
                "messages_search s JOIN messages m ON m.id = s.rowid".to_owned(),
                format!("messages_search MATCH $1{filters}"),
                "s.rowid DESC",
            ),
            (Engine::Sqlite, SearchOrder::Best) => (
                format!(
                    "(SELECT s.rowid AS id, s.rank AS rank FROM messages_search s{joined}
                      WHERE messages_search MATCH $1{filters}
                      ORDER BY s.rowid DESC LIMIT {RANKED}) s
                     JOIN messages m ON m.id = s.id"
                ),
                "TRUE".to_owned(),
                "s.rank",
            ),
            (Engine::Postgres, SearchOrder::Newest) => (
                "messages m".to_owned(),
                format!("m.search @@ to_tsquery('simple', $1){filters}"),
                "m.id DESC",
            ),
            (Engine::Postgres, SearchOrder::Best) => (
                format!(
                    "(SELECT m.id FROM messages m{pg_joined}
                      WHERE m.search @@ to_tsquery('simple', $1){filters}
                      ORDER BY m.id DESC LIMIT {RANKED}) s
                     JOIN messages m ON m.id = s.id"
                ),
                "TRUE".to_owned(),
                "ts_rank(m.search, to_tsquery('simple', $1)) DESC, m.id DESC",
            ),
        };
        let sql = format!(
            "SELECT m.id, m.conversation_id, m.body, m.created_at, m.sender_kind, m.internal
             FROM {from} JOIN conversations c ON c.id = m.conversation_id
             WHERE {matches}
             ORDER BY {order} LIMIT $2"
        );
        let rows = conditions
            .bind(
                sqlx::query(&sql)
                    .bind(terms.for_engine(self.engine()))
                    .bind(limit),
            )
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("sender_kind")?;
                Ok(MessageHit {
                    message: MessageId(row.try_get("id")?),
                    conversation: ConversationId(row.try_get("conversation_id")?),
                    body: row.try_get("body")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    sender: SenderKind::parse(&kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown sender kind {kind:?}"))
                    })?,
                    internal: flag(row, "internal")?,
                })
            })
            .collect()
    }

    /// Conversations whose visitor's name or email holds every term, most
    /// recently active first.
    pub async fn search_contacts(
        &self,
        terms: &Terms,
        query: &SearchQuery,
        limit: i64,
    ) -> Result<Vec<ConversationHit>, StoreError> {
        let conditions = Conditions::of(query, "c.last_message_at", 3);
        let (from, matches) = match self.engine() {
            Engine::Sqlite => (
                "contacts_search s JOIN contacts ct ON ct.id = s.rowid",
                "contacts_search MATCH $1",
            ),
            Engine::Postgres => (
                "contacts ct",
                // The expression of the `contacts_search` index.
                "to_tsvector('simple', regexp_replace(
                    COALESCE(ct.name, '') || ' ' || COALESCE(ct.email, ''), '[^[:alnum:]]+', ' ', 'g'))
                    @@ to_tsquery('simple', $1)",
            ),
        };
        let sql = format!(
            "SELECT c.id, COALESCE(ct.name, '') || ' ' || COALESCE(ct.email, '') AS text,
                c.last_message_at
             FROM {from} JOIN conversations c ON c.contact_id = ct.id
             WHERE {matches}{}
             ORDER BY c.last_message_at DESC, c.id DESC LIMIT $2",
            conditions.sql
        );
        let rows = conditions
            .bind(
                sqlx::query(&sql)
                    .bind(terms.for_engine(self.engine()))
                    .bind(limit),
            )
            .fetch_all(&self.pool)
            .await?;
        conversation_hits(&rows)
    }

    /// Conversations carrying any of `labels`, most recently active first.
    pub async fn search_labels(
        &self,
        labels: &[LabelId],
        query: &SearchQuery,
        limit: i64,
    ) -> Result<Vec<ConversationHit>, StoreError> {
        if labels.is_empty() {
            return Ok(Vec::new());
        }
        let first = 2 + labels.len();
        let conditions = Conditions::of(query, "c.last_message_at", first);
        let list = (2..first)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT c.id, l.name AS text, c.last_message_at
             FROM conversation_labels cl
             JOIN labels l ON l.id = cl.label_id
             JOIN conversations c ON c.id = cl.conversation_id
             WHERE cl.label_id IN ({list}){}
             ORDER BY c.last_message_at DESC, c.id DESC LIMIT $1",
            conditions.sql
        );
        let mut select = sqlx::query(&sql).bind(limit);
        for label in labels {
            select = select.bind(label.0);
        }
        let rows = conditions.bind(select).fetch_all(&self.pool).await?;
        conversation_hits(&rows)
    }

    /// What the results show of each conversation, in no particular order.
    pub async fn search_rows(&self, ids: &[ConversationId]) -> Result<Vec<SearchRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = (1..=ids.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT c.id, c.status, c.assignee_id,
                COALESCE(ct.name, 'Visitor #' || ct.id) AS contact_name
             FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
             WHERE c.id IN ({list})"
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.0);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(SearchRow {
                    conversation: ConversationId(row.try_get("id")?),
                    contact_name: row.try_get("contact_name")?,
                    status: ConversationStatus::parse(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown conversation status {status:?}"))
                    })?,
                    assignee: row.try_get::<Option<i64>, _>("assignee_id")?.map(AgentId),
                })
            })
            .collect()
    }
}

fn conversation_hits(rows: &[sqlx::any::AnyRow]) -> Result<Vec<ConversationHit>, StoreError> {
    rows.iter()
        .map(|row| {
            Ok(ConversationHit {
                conversation: ConversationId(row.try_get("id")?),
                text: row.try_get("text")?,
                last_activity: Timestamp(row.try_get("last_message_at")?),
            })
        })
        .collect()
}
