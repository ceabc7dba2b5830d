-- no-transaction
-- Replaced by messages_in_order (0015); dropped without locking out the
-- instances still writing.
DROP INDEX CONCURRENTLY IF EXISTS messages_by_conversation;
