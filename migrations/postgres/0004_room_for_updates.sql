-- Every message updates its conversation's row (and a visitor's, their
-- contact's). Room left free on each page lets PostgreSQL write the new
-- version beside the old one without touching the indexes when no indexed
-- column changed (a "HOT" update: the change number's bump, a contact's
-- last-seen time). Applies to pages written from now on.
ALTER TABLE conversations SET (fillfactor = 70);
ALTER TABLE contacts SET (fillfactor = 80);
