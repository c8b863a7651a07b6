-- Notes get an author; the existing ones are the system's.
ALTER TABLE notes ADD COLUMN author text NOT NULL DEFAULT 'system';
INSERT INTO notes (body, author) VALUES ('migrated by dal migrate', 'demo');
