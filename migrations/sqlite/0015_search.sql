-- Search (the inbox's search box): SQLite's own full-text index, FTS5.
--
-- Both tables are contentless (the text stays only in `messages` and
-- `contacts`; the index holds tokens), with deletes by rowid. Triggers keep
-- them in step inside the same transaction as the write: a message is
-- found once it commits, an edit finds its new words only, and a deleted
-- message (or a "resolved" line the system wrote) is never found.
CREATE VIRTUAL TABLE messages_search USING fts5(
    body, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.sender_kind <> 'system' AND new.deleted_at IS NULL
BEGIN
    INSERT INTO messages_search (rowid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER messages_search_update AFTER UPDATE OF body, deleted_at ON messages
WHEN new.sender_kind <> 'system'
BEGIN
    DELETE FROM messages_search WHERE rowid = old.id;
    INSERT INTO messages_search (rowid, body)
        SELECT new.id, new.body WHERE new.deleted_at IS NULL;
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
BEGIN
    DELETE FROM messages_search WHERE rowid = old.id;
END;

INSERT INTO messages_search (rowid, body)
    SELECT id, body FROM messages WHERE sender_kind <> 'system' AND deleted_at IS NULL;

CREATE VIRTUAL TABLE contacts_search USING fts5(
    name, email, content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO contacts_search (rowid, name, email)
        VALUES (new.id, COALESCE(new.name, ''), COALESCE(new.email, ''));
END;

CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, email ON contacts
BEGIN
    DELETE FROM contacts_search WHERE rowid = old.id;
    INSERT INTO contacts_search (rowid, name, email)
        VALUES (new.id, COALESCE(new.name, ''), COALESCE(new.email, ''));
END;

CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts
BEGIN
    DELETE FROM contacts_search WHERE rowid = old.id;
END;

INSERT INTO contacts_search (rowid, name, email)
    SELECT id, COALESCE(name, ''), COALESCE(email, '') FROM contacts;
