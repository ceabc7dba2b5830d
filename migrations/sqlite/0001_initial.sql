-- Minicom's first schema. Timestamps are milliseconds since the Unix epoch, UTC.

CREATE TABLE agents (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'agent')),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

-- Server-side sign-in sessions; the cookie holds the token, we keep only its hash.
CREATE TABLE agent_sessions (
    token_hash BLOB    PRIMARY KEY,
    agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX agent_sessions_by_agent ON agent_sessions (agent_id);

-- Website visitors. An anonymous visitor is the hash of a random cookie token.
CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    name         TEXT,
    email        TEXT,
    verified     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);

CREATE TABLE conversations (
    id                   INTEGER PRIMARY KEY,
    contact_id           INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status               TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'snoozed', 'resolved')),
    assignee_id          INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    ai_active            INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    last_message_at      INTEGER NOT NULL,
    -- Denormalised so the inbox list is one index scan, however long the threads.
    last_message_preview TEXT    NOT NULL DEFAULT '',
    last_sender_kind     TEXT
);
CREATE INDEX conversations_by_activity ON conversations (last_message_at DESC, id DESC);
CREATE INDEX conversations_by_contact ON conversations (contact_id, last_message_at DESC);

-- AUTOINCREMENT: ids are never reused, so "everything after id N" stays exact.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    client_id       TEXT    NOT NULL,
    sender_kind     TEXT    NOT NULL CHECK (sender_kind IN ('contact', 'agent', 'ai', 'system')),
    sender_id       INTEGER,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted_at      INTEGER,
    UNIQUE (conversation_id, client_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
