-- Webhooks: endpoints of the company's own systems that Minicom tells
-- about conversations, and a durable queue of what it sends them.
--
-- The secret signs each delivery (HMAC-SHA256), so it is kept as it is:
-- it is the endpoint's to verify with, not a password to check.
CREATE TABLE webhooks (
    -- AUTOINCREMENT: a deleted endpoint's id never comes back.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT    NOT NULL,
    secret        TEXT    NOT NULL,
    -- The event names it wants, separated by spaces.
    events        TEXT    NOT NULL,
    created_by    INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    -- Attempts that failed in a row, since when; paused_at is set when
    -- they went on long enough.
    failing_since INTEGER,
    failures      INTEGER NOT NULL DEFAULT 0,
    paused_at     INTEGER,
    pause_reason  TEXT
);

-- One event for one endpoint: written when the event happens, sent by
-- whichever instance claims it first (claimed_until), retried with
-- backoff until it is delivered or a day old. Nothing is lost across a
-- restart: what was not delivered is still pending.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- What it is about: erasing the conversation (or its visitor) erases
    -- what would have told of it.
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    event           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    finished_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_conversation ON webhook_deliveries (conversation_id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 'pending';
