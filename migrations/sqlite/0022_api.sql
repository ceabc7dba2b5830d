-- The REST API (`/api/v1`): tokens admins make for the company's other
-- systems, and messages those systems post as a named bot.
--
-- A token is shown once; only its SHA-256 is kept (it is 32 random bytes,
-- so a plain hash is enough: nothing to guess). A revoked token stays
-- listed, so admins see what was cut off and when.
CREATE TABLE api_tokens (
    -- AUTOINCREMENT: a revoked token's id never comes back for a new one.
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    scope        TEXT    NOT NULL CHECK (scope IN ('read', 'write')),
    created_by   INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

-- A bot's name on the messages an API client posts as a bot (sender_kind
-- 'agent' with no sender_id): shown to the visitor and the team.
ALTER TABLE messages ADD COLUMN sender_label TEXT;
