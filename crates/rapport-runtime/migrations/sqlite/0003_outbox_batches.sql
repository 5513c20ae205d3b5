-- One outbox row may carry all the events of a write: `events` says how many length-delimited
-- Event envelopes `payload` holds. 0 marks a row written before batching: its payload is one
-- Event without a length prefix.
ALTER TABLE outbox ADD COLUMN events INTEGER NOT NULL DEFAULT 0;
