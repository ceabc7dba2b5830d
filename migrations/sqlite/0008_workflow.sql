-- The team's workflow: who owns a conversation, snoozing, and what only the
-- team sees.

-- Seen by the team only: private notes and lines about the conversation's
-- state ("Ana resolved this"). Never sent to the visitor, never in their
-- unread count, the inbox preview or the assistant's prompt.
ALTER TABLE messages ADD COLUMN internal INTEGER NOT NULL DEFAULT 0;

-- A snoozed conversation wakes up by itself at this time.
ALTER TABLE conversations ADD COLUMN snoozed_until INTEGER;
-- Since when the visitor has been waiting for an answer: set by their first
-- unanswered message, cleared by the team's (or the assistant's) reply.
ALTER TABLE conversations ADD COLUMN waiting_since INTEGER;

UPDATE conversations SET waiting_since = last_message_at WHERE last_sender_kind = 'contact';

-- The inbox's lists: one index range per list and order, however many
-- conversations there are.
CREATE INDEX conversations_by_status ON conversations (status, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_assignee ON conversations (status, assignee_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_by_waiting ON conversations (status, COALESCE(waiting_since, 9223372036854775807), id);
CREATE INDEX conversations_by_assignee_waiting
    ON conversations (status, assignee_id, COALESCE(waiting_since, 9223372036854775807), id);
-- The snooze clock's next alarm.
CREATE INDEX conversations_snoozed ON conversations (snoozed_until) WHERE status = 'snoozed';
-- Visitor rate limit: conversations started in the last hour.
CREATE INDEX conversations_by_contact_created ON conversations (contact_id, created_at);
