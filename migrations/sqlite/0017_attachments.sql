-- Files in conversations. An upload is a row here from the moment its
-- bytes are stored; a message that carries it sets `message_id` (and the
-- message keeps a JSON copy of what it shows about its files in
-- `messages.attachments`, so reading a thread needs no second trip).
-- Uploads no message took within an hour are removed. On the embedded
-- default the bytes are files in a folder beside the database.
ALTER TABLE messages ADD COLUMN attachments TEXT;

CREATE TABLE uploads (
    id              TEXT    PRIMARY KEY,
    uploader_kind   TEXT    NOT NULL CHECK (uploader_kind IN ('contact', 'agent')),
    uploader_id     INTEGER NOT NULL,
    -- NULL: a visitor's file for the conversation their message will start.
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    content_type    TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    width           INTEGER,
    height          INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX uploads_by_message ON uploads (message_id);
CREATE INDEX uploads_by_uploader ON uploads (uploader_kind, uploader_id, created_at);
CREATE INDEX uploads_by_conversation ON uploads (conversation_id);
CREATE INDEX uploads_unsent ON uploads (created_at) WHERE message_id IS NULL;

-- The bytes, when MINICOM_FILES=database keeps them in the database rather
-- than in the folder (the file and, for pictures, its thumbnail).
CREATE TABLE upload_blobs (
    upload_id TEXT NOT NULL,
    part      TEXT NOT NULL CHECK (part IN ('file', 'thumb')),
    data      BLOB NOT NULL,
    PRIMARY KEY (upload_id, part)
);
