-- Answers the team keeps under a shortcut (`/refund`), managed by admins.
CREATE TABLE saved_replies (
    id         INTEGER PRIMARY KEY,
    shortcut   TEXT    NOT NULL UNIQUE,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
