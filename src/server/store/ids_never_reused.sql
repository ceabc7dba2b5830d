-- Contacts and conversations get AUTOINCREMENT (run once by
-- `engine::ids_never_reused`, after the migrations, on a connection with
-- foreign keys off: sqlx runs every migration inside a transaction, where
-- they cannot be switched off, and dropping a referenced table with them
-- on would delete every row that references it).
--
-- From now on rows are erased (a person asked to be forgotten, or the
-- retention period), and SQLite would otherwise give the newest erased
-- row's id to the next new one. Sockets and pages hold ids (an open
-- thread, a cached owner), so a reused id could show one person's
-- conversation to another.
--
-- Each table is made again and its rows copied; the tables that reference
-- it keep their rows and references. Its indexes and the search triggers
-- on `contacts` are made again.
BEGIN IMMEDIATE;

CREATE TABLE contacts_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   BLOB    NOT NULL UNIQUE,
    name         TEXT,
    email        TEXT,
    verified     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    external_id  TEXT,
    user_agent   TEXT,
    time_zone    TEXT,
    page_url     TEXT,
    page_title   TEXT,
    attributes   TEXT,
    last_address TEXT
);
INSERT INTO contacts_new (id, token_hash, name, email, verified, created_at, last_seen_at,
                          external_id, user_agent, time_zone, page_url, page_title,
                          attributes, last_address)
    SELECT id, token_hash, name, email, verified, created_at, last_seen_at,
           external_id, user_agent, time_zone, page_url, page_title,
           attributes, last_address
    FROM contacts;
DROP TABLE contacts;
ALTER TABLE contacts_new RENAME TO contacts;
CREATE UNIQUE INDEX contacts_by_external_id ON contacts (external_id) WHERE external_id IS NOT NULL;

CREATE TABLE conversations_new (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id            INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    status                TEXT    NOT NULL DEFAULT 'open'
                                  CHECK (status IN ('open', 'snoozed', 'resolved')),
    assignee_id           INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    ai_active             INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    last_message_at       INTEGER NOT NULL,
    last_message_preview  TEXT    NOT NULL DEFAULT '',
    last_sender_kind      TEXT,
    last_message_id       INTEGER NOT NULL DEFAULT 0,
    contact_read_id       INTEGER NOT NULL DEFAULT 0,
    team_read_id          INTEGER NOT NULL DEFAULT 0,
    team_delivered_id     INTEGER NOT NULL DEFAULT 0,
    assistant             TEXT    NOT NULL DEFAULT 'off'
                                  CHECK (assistant IN ('off', 'answering', 'waiting', 'human')),
    seq                   INTEGER NOT NULL DEFAULT 0,
    snoozed_until         INTEGER,
    waiting_since         INTEGER,
    rating                INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment        TEXT,
    assistant_claim       TEXT,
    assistant_claim_until INTEGER,
    assistant_again       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO conversations_new (id, contact_id, status, assignee_id, ai_active, created_at,
                               last_message_at, last_message_preview, last_sender_kind,
                               last_message_id, contact_read_id, team_read_id,
                               team_delivered_id, assistant, seq, snoozed_until,
                               waiting_since, rating, rating_comment, assistant_claim,
                               assistant_claim_until, assistant_again)
    SELECT id, contact_id, status, assignee_id, ai_active, created_at,
           last_message_at, last_message_preview, last_sender_kind,
           last_message_id, contact_read_id, team_read_id,
           team_delivered_id, assistant, seq, snoozed_until,
           waiting_since, rating, rating_comment, assistant_claim,
           assistant_claim_until, assistant_again
    FROM conversations;
DROP TABLE conversations;
ALTER TABLE conversations_new RENAME TO conversations;
CREATE INDEX conversations_by_activity ON conversations (last_message_at DESC, id DESC);
CREATE INDEX conversations_by_contact ON conversations (contact_id, last_message_at DESC);
CREATE INDEX conversations_by_status ON conversations (status, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_assignee ON conversations (status, assignee_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_waiting ON conversations (status, COALESCE(waiting_since, 9223372036854775807), id);
CREATE INDEX conversations_by_assignee_waiting
    ON conversations (status, assignee_id, COALESCE(waiting_since, 9223372036854775807), id);
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE status = 'snoozed';
CREATE INDEX conversations_by_contact_created ON conversations (contact_id, created_at);
CREATE INDEX conversations_by_claim ON conversations (assistant_claim_until)
    WHERE assistant_claim IS NOT NULL;


CREATE INDEX conversations_resolved ON conversations (last_message_at) WHERE status = 'resolved';

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contacts_search (rowid, name, email)
        VALUES (new.id, COALESCE(new.name, ''), COALESCE(new.email, ''));
END;

CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, email ON contacts
BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, name, email)
        VALUES ('delete', old.id, COALESCE(old.name, ''), COALESCE(old.email, ''));
    INSERT INTO contacts_search (rowid, name, email)
        VALUES (new.id, COALESCE(new.name, ''), COALESCE(new.email, ''));
END;

CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts
BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, name, email)
        VALUES ('delete', old.id, COALESCE(old.name, ''), COALESCE(old.email, ''));
END;

COMMIT;
