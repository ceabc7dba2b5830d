-- How the visitor rated a resolved conversation (1 awful … 5 great), and
-- what they added.
ALTER TABLE conversations ADD COLUMN rating INTEGER CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE conversations ADD COLUMN rating_comment TEXT;
