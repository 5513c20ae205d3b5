-- Coupons (CA7), named by their codes, unique in a tenant. doc holds the terms (value,
-- minimum, strategy, issuer) and the redemption; the columns are what lookups, lists and the
-- expiry sweep read.
CREATE TABLE coupons (
    tenant_id   TEXT   NOT NULL,
    code        TEXT   NOT NULL,
    campaign_id TEXT   NOT NULL,
    customer_id TEXT   NOT NULL,
    state       TEXT   NOT NULL,
    expire_time BIGINT NOT NULL,
    doc         TEXT   NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, code)
);
CREATE INDEX coupons_by_time ON coupons (tenant_id, create_time, code);
CREATE INDEX coupons_by_campaign ON coupons (tenant_id, campaign_id, create_time, code);
-- The expiry sweep's: issued coupons by their time, across tenants.
CREATE INDEX coupons_expiring ON coupons (state, expire_time);
