-- Merging incidents: a verifier moves one incident's reports into another,
-- and the emptied incident (state 'merged') remembers where they went.
ALTER TABLE incidents ADD COLUMN merged_into TEXT REFERENCES incidents(id);
