-- The help center: articles the team writes, their history, and the
-- passages the assistant and the public search read.
--
-- An article is a draft or published. Every save keeps a revision (who,
-- when, what it said), so an edit can be looked back on and undone.
-- Only published articles have passages: a draft is never found by the
-- public search nor quoted by the assistant. Passages are written by the
-- server in the same transaction as the article (split along the
-- article's headings, see `server::help::markdown`).
CREATE TABLE articles (
    id              INTEGER PRIMARY KEY,
    collection      TEXT    NOT NULL,
    collection_slug TEXT    NOT NULL,
    slug            TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    published       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- An article is found by its slug alone: its address survives a move
    -- to another collection.
    UNIQUE (slug)
);

CREATE TABLE article_revisions (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    collection TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    published  INTEGER NOT NULL,
    saved_at   INTEGER NOT NULL,
    saved_by   INTEGER REFERENCES agents (id) ON DELETE SET NULL
);
CREATE INDEX article_revisions_by_article ON article_revisions (article_id, id);

CREATE TABLE article_passages (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    heading    TEXT    NOT NULL,
    text       TEXT    NOT NULL
);
CREATE INDEX article_passages_by_article ON article_passages (article_id);

-- English stemming (porter): "shipping" finds "ships", "refunds" finds
-- "refund". Contentless: the words stay in `article_passages`.
CREATE VIRTUAL TABLE article_passages_search USING fts5(
    title, heading, text, content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER article_passages_search_delete AFTER DELETE ON article_passages
BEGIN
    DELETE FROM article_passages_search WHERE rowid = old.id;
END;

-- What the assistant's answer was drawn from (JSON: title and link of each
-- article), and whether the visitor said it helped.
ALTER TABLE messages ADD COLUMN sources TEXT;
ALTER TABLE messages ADD COLUMN helpful INTEGER;
