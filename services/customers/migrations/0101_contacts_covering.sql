-- Duplicate lookups read the owning customer straight from the index. Without it SQLite's
-- planner, which keeps no statistics, preferred the primary key and scanned every contact of
-- the tenant on each CreateCustomer.
DROP INDEX customer_contacts_by_value;
CREATE INDEX customer_contacts_by_value ON customer_contacts (tenant_id, kind, value, customer_id);
