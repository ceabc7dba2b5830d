-- As SQLite's 0014: the claims a sweep looks for, and only those.
CREATE INDEX conversations_by_claim ON conversations (assistant_claim_until)
    WHERE assistant_claim IS NOT NULL;
