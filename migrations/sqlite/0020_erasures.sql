-- Erasing a person ("delete all my data"). What was erased is gone; this
-- records only that an erasure happened: when, who asked (a teammate, the
-- command line, or the retention period) and how many conversations and
-- messages went, so reports keep anonymous counts and nothing else.
CREATE TABLE erasures (
    id            INTEGER PRIMARY KEY,
    erased_at     INTEGER NOT NULL,
    -- 'agent' (with `agent_id`), 'command' or 'retention'.
    erased_by     TEXT    NOT NULL CHECK (erased_by IN ('agent', 'command', 'retention')),
    agent_id      INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    contacts      INTEGER NOT NULL,
    conversations INTEGER NOT NULL,
    messages      INTEGER NOT NULL
);

-- The search indexes keep no trace of what was deleted. The indexes
-- were `contentless_delete` tables, whose DELETE by rowid only leaves a
-- tombstone: the words stay in the index's segments until merged. They
-- are made again as plain contentless tables, whose triggers tell FTS5
-- the words a row had (its 'delete' command: exactly what was indexed,
-- under the same conditions as the insert), with `secure-delete` so
-- FTS5 removes them from the segments at once. Made again from the rows
-- (once, on upgrade).
DROP TRIGGER messages_search_insert;
DROP TRIGGER messages_search_update;
DROP TRIGGER messages_search_delete;
DROP TABLE messages_search;
CREATE VIRTUAL TABLE messages_search USING fts5(
    body, content = '', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO messages_search (messages_search, rank) VALUES ('secure-delete', 1);

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.sender_kind <> 'system' AND new.deleted_at IS NULL
BEGIN
    INSERT INTO messages_search (rowid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER messages_search_update AFTER UPDATE OF body, deleted_at ON messages
WHEN new.sender_kind <> 'system'
BEGIN
    INSERT INTO messages_search (messages_search, rowid, body)
        SELECT 'delete', old.id, old.body WHERE old.deleted_at IS NULL;
    INSERT INTO messages_search (rowid, body)
        SELECT new.id, new.body WHERE new.deleted_at IS NULL;
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
WHEN old.sender_kind <> 'system' AND old.deleted_at IS NULL
BEGIN
    INSERT INTO messages_search (messages_search, rowid, body)
        VALUES ('delete', old.id, old.body);
END;

INSERT INTO messages_search (rowid, body)
    SELECT id, body FROM messages WHERE sender_kind <> 'system' AND deleted_at IS NULL;

DROP TRIGGER contacts_search_insert;
DROP TRIGGER contacts_search_update;
DROP TRIGGER contacts_search_delete;
DROP TABLE contacts_search;
CREATE VIRTUAL TABLE contacts_search USING fts5(
    name, email, content = '', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO contacts_search (contacts_search, rank) VALUES ('secure-delete', 1);

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

INSERT INTO contacts_search (rowid, name, email)
    SELECT id, COALESCE(name, ''), COALESCE(email, '') FROM contacts;

-- Retention looks for resolved conversations by age.
CREATE INDEX conversations_resolved ON conversations (last_message_at) WHERE status = 'resolved';
