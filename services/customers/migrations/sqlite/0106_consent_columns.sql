-- The consent columns of 105 for the customers stored before them, read from their profile
-- documents (SQLite's JSON functions; PostgreSQL has its own file).
UPDATE customers SET
    consent_sms = COALESCE((
        SELECT json_extract(j.value, '$.status')
        FROM json_each(customers.profile, '$.consent.channels') j
        WHERE json_extract(j.value, '$.channel') = 'sms'), 'unknown'),
    consent_email = COALESCE((
        SELECT json_extract(j.value, '$.status')
        FROM json_each(customers.profile, '$.consent.channels') j
        WHERE json_extract(j.value, '$.channel') = 'email'), 'unknown'),
    consent_phone = COALESCE((
        SELECT json_extract(j.value, '$.status')
        FROM json_each(customers.profile, '$.consent.channels') j
        WHERE json_extract(j.value, '$.channel') = 'phone'), 'unknown'),
    consent_im = COALESCE((
        SELECT json_extract(j.value, '$.status')
        FROM json_each(customers.profile, '$.consent.channels') j
        WHERE json_extract(j.value, '$.channel') = 'im'), 'unknown'),
    do_not_disturb = COALESCE(json_extract(customers.profile, '$.consent.do_not_disturb'), 0)
WHERE json_extract(customers.profile, '$.consent') IS NOT NULL;
