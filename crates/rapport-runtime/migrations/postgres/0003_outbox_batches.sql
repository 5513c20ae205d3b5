-- One outbox row may carry all the events of a write: `events` says how many length-delimited
-- Event envelopes `payload` holds. 0 marks a row written before batching: its payload is one
-- Event without a length prefix.
ALTER TABLE outbox ADD COLUMN events INTEGER NOT NULL DEFAULT 0;
-- Event ids are fresh UUIDs and the relay works by `seq`: the unique index on `id` only cost
-- every write an index entry. (SQLite cannot drop a column constraint in place; it keeps it.)
ALTER TABLE outbox DROP CONSTRAINT outbox_id_key;
