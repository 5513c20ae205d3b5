-- Duplicate leads: an open lead sharing a phone or email with a new one is flagged on it (or
-- the new one refused, as the tenant chooses), so nobody works a lead a colleague already holds
-- without knowing. The lookup needs email indexed like phone.
ALTER TABLE leads ADD COLUMN possible_duplicates TEXT NOT NULL DEFAULT '[]';
CREATE INDEX leads_by_email ON leads (tenant_id, email);
