-- Search (the inbox's search box): PostgreSQL's own full text.
--
-- A message's words are a generated column, so every insert, edit and
-- delete keeps them in step in the same statement; a deleted message (or
-- a line the system wrote) has none and is never found. The 'simple'
-- configuration keeps words as written (no language's stemming: visitors
-- write in many languages, and order numbers must match as typed); the
-- search asks for prefixes, so "refund" finds "refunded".
--
-- Words are split on anything but letters and digits first, as the search
-- splits what is typed and as SQLite's index does: PostgreSQL's own parser
-- would read "A-1234" as "a" and the number -1234, and keep an email
-- address as one word.
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    CASE WHEN deleted_at IS NULL AND sender_kind <> 'system'
        THEN to_tsvector('simple', regexp_replace(body, '[^[:alnum:]]+', ' ', 'g')) END
) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);

-- A contact's name and email, by the same expression the search uses.
CREATE INDEX contacts_search ON contacts USING GIN (
    to_tsvector('simple', regexp_replace(
        COALESCE(name, '') || ' ' || COALESCE(email, ''), '[^[:alnum:]]+', ' ', 'g'))
);
