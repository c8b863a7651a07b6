-- doc-examples.sql: the tables the complete programs of README.md and
-- docs/*.md use (tests/doc-examples.sh runs each line with `dal query`
-- first).  One statement a line; lines starting with -- are comments.
CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text NOT NULL, price numeric NOT NULL)
INSERT INTO items VALUES (42, 'teapot', 12.50), (43, 'cup', 3.20) ON CONFLICT (id) DO NOTHING
