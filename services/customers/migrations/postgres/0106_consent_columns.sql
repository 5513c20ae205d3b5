-- The consent columns of 105 for the customers stored before them, read from their profile
-- documents (PostgreSQL's JSON functions; SQLite has its own file). The text columns of 105
-- compare byte by byte, as every other text column does since 102.
ALTER TABLE customers
    ALTER COLUMN consent_sms TYPE TEXT COLLATE "C",
    ALTER COLUMN consent_email TYPE TEXT COLLATE "C",
    ALTER COLUMN consent_phone TYPE TEXT COLLATE "C",
    ALTER COLUMN consent_im TYPE TEXT COLLATE "C";

ALTER TABLE customer_segments
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN display_name TYPE TEXT COLLATE "C",
    ALTER COLUMN search_text TYPE TEXT COLLATE "C",
    ALTER COLUMN description TYPE TEXT COLLATE "C",
    ALTER COLUMN filter TYPE TEXT COLLATE "C",
    ALTER COLUMN creator TYPE TEXT COLLATE "C";

UPDATE customers SET
    consent_sms = COALESCE((
        SELECT j ->> 'status'
        FROM jsonb_array_elements(customers.profile::jsonb -> 'consent' -> 'channels') j
        WHERE j ->> 'channel' = 'sms'), 'unknown'),
    consent_email = COALESCE((
        SELECT j ->> 'status'
        FROM jsonb_array_elements(customers.profile::jsonb -> 'consent' -> 'channels') j
        WHERE j ->> 'channel' = 'email'), 'unknown'),
    consent_phone = COALESCE((
        SELECT j ->> 'status'
        FROM jsonb_array_elements(customers.profile::jsonb -> 'consent' -> 'channels') j
        WHERE j ->> 'channel' = 'phone'), 'unknown'),
    consent_im = COALESCE((
        SELECT j ->> 'status'
        FROM jsonb_array_elements(customers.profile::jsonb -> 'consent' -> 'channels') j
        WHERE j ->> 'channel' = 'im'), 'unknown'),
    do_not_disturb = CASE
        WHEN customers.profile::jsonb -> 'consent' ->> 'do_not_disturb' = 'true' THEN 1
        ELSE 0
    END
WHERE customers.profile::jsonb -> 'consent' IS NOT NULL;
