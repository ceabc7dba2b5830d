-- Blocks: visitors the team stopped from writing.
--
-- A block covers the contact (a verified visitor is one contact in every
-- browser) and, for a while, the network address they last came from:
-- `contacts.last_address` is written when a messenger connects, so the
-- team can block it without ever seeing it. One block per contact; a new
-- one replaces it. Erasing the contact erases their block.
ALTER TABLE contacts ADD COLUMN last_address TEXT;

CREATE TABLE blocks (
    id            INTEGER PRIMARY KEY,
    contact_id    INTEGER NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    reason        TEXT    NOT NULL,
    address       TEXT,
    address_until INTEGER,
    blocked_by    INTEGER REFERENCES agents (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX blocks_by_address ON blocks (address) WHERE address IS NOT NULL;
