-- Files in conversations (see the SQLite migration of the same name). With
-- several instances every one of them must reach every file: the bytes are
-- kept here too, in `upload_blobs` (the file and, for images, its
-- thumbnail), unless MINICOM_FILES names a folder all instances share.
ALTER TABLE messages ADD COLUMN attachments TEXT;

CREATE TABLE uploads (
    id              TEXT   PRIMARY KEY,
    uploader_kind   TEXT   NOT NULL CHECK (uploader_kind IN ('contact', 'agent')),
    uploader_id     BIGINT NOT NULL,
    conversation_id BIGINT REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      BIGINT REFERENCES messages (id) ON DELETE CASCADE,
    name            TEXT   NOT NULL,
    content_type    TEXT   NOT NULL,
    size            BIGINT NOT NULL,
    width           BIGINT,
    height          BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX uploads_by_message ON uploads (message_id);
CREATE INDEX uploads_by_uploader ON uploads (uploader_kind, uploader_id, created_at);
CREATE INDEX uploads_by_conversation ON uploads (conversation_id);
CREATE INDEX uploads_unsent ON uploads (created_at) WHERE message_id IS NULL;

CREATE TABLE upload_blobs (
    upload_id TEXT  NOT NULL,
    part      TEXT  NOT NULL CHECK (part IN ('file', 'thumb')),
    data      BYTEA NOT NULL,
    PRIMARY KEY (upload_id, part)
);

-- Kept out of line and uncompressed: pictures and archives are compressed
-- already, and a download reads a blob in slices, which PostgreSQL serves
-- from an uncompressed value without reading the whole of it each time.
ALTER TABLE upload_blobs ALTER COLUMN data SET STORAGE EXTERNAL;
