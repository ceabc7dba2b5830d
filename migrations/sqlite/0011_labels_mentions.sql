-- Labels admins create ("Billing", "Bug") and put on conversations; and
-- teammates mentioned in notes, until they open the conversation.

-- AUTOINCREMENT: a deleted label's id is never given to a new one, so an
-- id a page still holds can never come to mean another label.
CREATE TABLE labels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- One of the palette's names (`protocol::LabelColor`).
    color      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE conversation_labels (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    label_id        INTEGER NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, label_id)
) WITHOUT ROWID;
-- A label's conversations (the lists filtered by label).
CREATE INDEX conversation_labels_by_label ON conversation_labels (label_id, conversation_id);

-- One row per teammate and conversation while the mention is unseen: the
-- newest note that mentioned them.
CREATE TABLE mentions (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    agent_id        INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    message_id      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, agent_id)
) WITHOUT ROWID;
-- A teammate's Mentions list and its count.
CREATE INDEX mentions_by_agent ON mentions (agent_id, conversation_id);
