-- Verified visitors: a site that embeds Minicom vouches for its own user id
-- with an HMAC. Their conversations follow them: every browser (visitor token)
-- they use maps to the same contact.
ALTER TABLE contacts ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX contacts_by_external_id ON contacts (external_id) WHERE external_id IS NOT NULL;

-- Further visitor tokens of a contact (other devices of a verified visitor).
CREATE TABLE visitor_tokens (
    token_hash BLOB    PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE
) WITHOUT ROWID;
