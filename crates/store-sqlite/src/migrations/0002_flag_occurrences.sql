-- A rule broken record by record at one facility is one flag per enterprise,
-- facility and month; it counts the records behind it beyond those it lists.
ALTER TABLE flag ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1;
