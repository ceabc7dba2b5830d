-- Reactions: one row per message, person and emoji (toggling removes it).
CREATE TABLE reactions (
    message_id  INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    person_kind TEXT    NOT NULL CHECK (person_kind IN ('contact', 'agent')),
    person_id   INTEGER NOT NULL,
    emoji       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (message_id, person_kind, person_id, emoji)
) WITHOUT ROWID;

