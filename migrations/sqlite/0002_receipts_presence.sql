-- Read receipts, delivery and unread counts are cursors, not flags per message.

-- Denormalised on the conversation so an inbox row stays one index scan.
ALTER TABLE conversations ADD COLUMN last_message_id   INTEGER NOT NULL DEFAULT 0;
-- The visitor has read up to here.
ALTER TABLE conversations ADD COLUMN contact_read_id   INTEGER NOT NULL DEFAULT 0;
-- Some agent has read up to here (the furthest agent cursor).
ALTER TABLE conversations ADD COLUMN team_read_id      INTEGER NOT NULL DEFAULT 0;
-- Messages up to here reached an agent's inbox.
ALTER TABLE conversations ADD COLUMN team_delivered_id INTEGER NOT NULL DEFAULT 0;

UPDATE conversations
SET last_message_id = COALESCE((SELECT MAX(id) FROM messages WHERE conversation_id = conversations.id), 0);

-- Each agent's own read cursor, for their unread counts.
CREATE TABLE agent_cursors (
    agent_id        INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    last_read_id    INTEGER NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
) WITHOUT ROWID;

-- Unread counts: messages of one side after a cursor.
CREATE INDEX messages_by_conversation_sender ON messages (conversation_id, sender_kind, id);
