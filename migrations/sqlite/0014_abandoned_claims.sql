-- Claims to answer that ran out while the visitor still waits (their
-- instance died mid-answer) are found by every instance's sweep: only rows
-- with a claim are in this index, so a message's write never touches it.
CREATE INDEX conversations_by_claim ON conversations (assistant_claim_until)
    WHERE assistant_claim IS NOT NULL;
