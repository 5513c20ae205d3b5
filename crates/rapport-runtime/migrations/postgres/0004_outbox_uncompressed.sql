-- A batched outbox payload is hundreds of events and always goes out of line; compressing it
-- cost an import about 3% of the database's CPU for a row the relay reads once and deletes.
ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL;
