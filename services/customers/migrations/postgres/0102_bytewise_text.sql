-- Text columns compare byte by byte, as SQLite's do. Under a locale collation (any but "C" or
-- "POSIX", "C.UTF-8" included) every index comparison of ids, tenant ids and contact values
-- went through strcoll. Lists ordered by name now order alike on both backends, whatever the
-- database's locale.

ALTER TABLE customers
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN display_name TYPE TEXT COLLATE "C",
    ALTER COLUMN search_text TYPE TEXT COLLATE "C",
    ALTER COLUMN owner_id TYPE TEXT COLLATE "C",
    ALTER COLUMN team_id TYPE TEXT COLLATE "C",
    ALTER COLUMN store_id TYPE TEXT COLLATE "C",
    ALTER COLUMN lifecycle_stage TYPE TEXT COLLATE "C",
    ALTER COLUMN grade TYPE TEXT COLLATE "C",
    ALTER COLUMN source_channel TYPE TEXT COLLATE "C",
    ALTER COLUMN referrer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN province TYPE TEXT COLLATE "C",
    ALTER COLUMN city TYPE TEXT COLLATE "C",
    ALTER COLUMN district TYPE TEXT COLLATE "C",
    ALTER COLUMN birth_date TYPE TEXT COLLATE "C",
    ALTER COLUMN custom TYPE TEXT COLLATE "C",
    ALTER COLUMN profile TYPE TEXT COLLATE "C",
    ALTER COLUMN possible_duplicates TYPE TEXT COLLATE "C",
    ALTER COLUMN merged_into TYPE TEXT COLLATE "C";

ALTER TABLE customer_contacts
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN value TYPE TEXT COLLATE "C";

ALTER TABLE customer_tags
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN tag TYPE TEXT COLLATE "C";

ALTER TABLE customer_shared_teams
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN team_id TYPE TEXT COLLATE "C";

ALTER TABLE customer_relationships
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN from_id TYPE TEXT COLLATE "C",
    ALTER COLUMN to_id TYPE TEXT COLLATE "C",
    ALTER COLUMN type TYPE TEXT COLLATE "C",
    ALTER COLUMN note TYPE TEXT COLLATE "C";

ALTER TABLE customer_activities
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN kind TYPE TEXT COLLATE "C",
    ALTER COLUMN author TYPE TEXT COLLATE "C",
    ALTER COLUMN content TYPE TEXT COLLATE "C",
    ALTER COLUMN details TYPE TEXT COLLATE "C";

ALTER TABLE customer_ownership_transfers
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN customer_id TYPE TEXT COLLATE "C",
    ALTER COLUMN from_owner_id TYPE TEXT COLLATE "C",
    ALTER COLUMN to_owner_id TYPE TEXT COLLATE "C",
    ALTER COLUMN from_team_id TYPE TEXT COLLATE "C",
    ALTER COLUMN to_team_id TYPE TEXT COLLATE "C",
    ALTER COLUMN from_store_id TYPE TEXT COLLATE "C",
    ALTER COLUMN to_store_id TYPE TEXT COLLATE "C",
    ALTER COLUMN reason TYPE TEXT COLLATE "C",
    ALTER COLUMN actor TYPE TEXT COLLATE "C";

ALTER TABLE customer_settings
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN document TYPE TEXT COLLATE "C";
