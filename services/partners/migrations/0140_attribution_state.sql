-- Where an attributed lead or order stands, as its service names it.
ALTER TABLE attributions ADD COLUMN state TEXT NOT NULL DEFAULT '';
