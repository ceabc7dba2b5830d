-- Email follow-up: a visitor who left their email and is not in the chat
-- gets the team's replies by email, one email per burst of replies.
--
-- One row per conversation that was ever followed up: due_at is set by
-- the first reply of a burst (later ones of the burst leave it), cleared
-- once sent; sent_through_id is the last reply an email carried, so the
-- next email starts after it. claimed_until keeps other instances off it
-- while one sends.
CREATE TABLE email_followups (
    conversation_id BIGINT  PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    due_at          BIGINT,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    sent_through_id BIGINT  NOT NULL DEFAULT 0,
    -- The newest reply scheduled: one posted while an email is being
    -- sent makes the follow-up due again.
    last_reply_id   BIGINT  NOT NULL DEFAULT 0,
    claimed_until   BIGINT
);
CREATE INDEX email_followups_due ON email_followups (due_at) WHERE due_at IS NOT NULL;

-- The visitor followed the email's unsubscribe link: no more emails.
ALTER TABLE contacts ADD COLUMN email_opt_out_at BIGINT;
