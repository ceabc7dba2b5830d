-- Saved replies an agent keeps for themselves, beside the team's: a reply
-- with an owner is theirs alone. Shortcuts are unique among the team's, and
-- among each agent's own (an agent's own may share a team shortcut, and
-- then is the one they get). AUTOINCREMENT: a deleted reply's id is never
-- given to a new one, so a Delete from a page shown before cannot hit it.
CREATE TABLE saved_replies_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id   INTEGER REFERENCES agents (id) ON DELETE CASCADE,
    shortcut   TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO saved_replies_new (id, owner_id, shortcut, body, created_at)
    SELECT id, NULL, shortcut, body, created_at FROM saved_replies;
DROP TABLE saved_replies;
ALTER TABLE saved_replies_new RENAME TO saved_replies;
CREATE UNIQUE INDEX saved_replies_team ON saved_replies (shortcut) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX saved_replies_own ON saved_replies (owner_id, shortcut)
    WHERE owner_id IS NOT NULL;
