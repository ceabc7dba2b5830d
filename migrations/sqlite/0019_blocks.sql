-- Blocks: visitors the team stopped from writing.
--
-- A block covers the contact (a verified visitor is one contact in every
-- browser) and, for a while, the network address they last came from:
-- `contacts.last_address` is written when a messenger connects, so the
-- team can block it without having to find it (admins see it in Settings
-- while the address block lasts). One block per contact; a new
-- one replaces it. Erasing the contact erases their block.
ALTER TABLE contacts ADD COLUMN last_address TEXT;

CREATE TABLE blocks (
    -- AUTOINCREMENT: a lifted block's id is never given to a new one, so
    -- a Lift from a page shown before cannot hit someone else's.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id    INTEGER NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    reason        TEXT    NOT NULL,
    address       TEXT,
    address_until INTEGER,
    blocked_by    INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX blocks_by_address ON blocks (address) WHERE address IS NOT NULL;
