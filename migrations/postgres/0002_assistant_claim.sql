-- As SQLite's 0013: which instance is writing the assistant's answer in a
-- conversation, until when, and whether the visitor wrote again meanwhile.
ALTER TABLE conversations ADD COLUMN assistant_claim TEXT;
ALTER TABLE conversations ADD COLUMN assistant_claim_until BIGINT;
ALTER TABLE conversations ADD COLUMN assistant_again BOOLEAN NOT NULL DEFAULT FALSE;
