-- A conversion in progress holds its lead: the first ConvertLead decides the lead before it
-- creates the customer in the customers service, so a second conversion with another request
-- id is refused instead of creating a customer nothing refers to. The row records the customer
-- once it exists, so whoever finishes the conversion links that customer; it is deleted when
-- the lead is converted. A reservation older than the hold time may be taken over.
CREATE TABLE lead_conversions (
    tenant_id    TEXT   NOT NULL,
    lead_id      TEXT   NOT NULL,
    subject      TEXT   NOT NULL,
    request_id   TEXT   NOT NULL,
    customer     TEXT   NOT NULL DEFAULT '',
    existing     INTEGER NOT NULL DEFAULT 0,
    reserve_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, lead_id)
);
