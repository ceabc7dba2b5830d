-- Every conversation numbers its changes: each new message, edit, delete,
-- reaction and receipt takes the conversation's next number, assigned inside
-- the transaction that makes the change, so numbers follow commit order.
-- `resume` replays every change after a client's last number.
ALTER TABLE conversations ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
-- The number of a message's latest change (its insert, edit, delete or reaction).
ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

-- Existing rows: ids already increase in commit order within a conversation.
UPDATE messages SET seq = id;
UPDATE conversations
SET seq = COALESCE((SELECT MAX(id) FROM messages WHERE conversation_id = conversations.id), 0);

CREATE INDEX messages_by_change ON messages (conversation_id, seq);
