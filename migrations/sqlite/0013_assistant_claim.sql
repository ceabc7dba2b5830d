-- Which instance is writing the assistant's answer in a conversation, and
-- until when: one answers at a time, whichever instance got the visitor's
-- message, and a claim a dead instance left runs out. A visitor message
-- that arrives while the claim stands sets `assistant_again`: the holder
-- answers once more when it is done.
ALTER TABLE conversations ADD COLUMN assistant_claim TEXT;
ALTER TABLE conversations ADD COLUMN assistant_claim_until INTEGER;
ALTER TABLE conversations ADD COLUMN assistant_again INTEGER NOT NULL DEFAULT 0;
