-- Sample platform schema and data for the local stand-in for Supabase.
-- Platform tables (read/write, live only here) and migrated copies of the
-- legacy tables (customers, subscriptions, payments) that the cutover will use;
-- until then switchyard refuses writes to them and routes reads to MySQL.

CREATE TABLE workflows (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    description   text,
    status        text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'archived')),
    trigger_type  text NOT NULL DEFAULT 'manual',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE message_templates (
    id          bigserial PRIMARY KEY,
    workflow_id bigint REFERENCES workflows(id) ON DELETE CASCADE,
    channel     text NOT NULL DEFAULT 'sms',
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE individual_variable_mappings (
    id             bigserial PRIMARY KEY,
    template_id    bigint REFERENCES message_templates(id) ON DELETE CASCADE,
    variable_name  text NOT NULL,
    source_table   text NOT NULL,
    source_column  text NOT NULL
);

CREATE TABLE workflow_runs (
    id           bigserial PRIMARY KEY,
    workflow_id  bigint REFERENCES workflows(id) ON DELETE CASCADE,
    customer_id  bigint NOT NULL,
    status       text NOT NULL DEFAULT 'queued',
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

CREATE TABLE message_logs (
    id           bigserial PRIMARY KEY,
    run_id       bigint REFERENCES workflow_runs(id) ON DELETE CASCADE,
    customer_id  bigint NOT NULL,
    channel      text NOT NULL,
    status       text NOT NULL,
    sent_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_message_logs_sent_at ON message_logs(sent_at);

CREATE TABLE daily_statistics (
    day            date NOT NULL,
    workflow_id    bigint REFERENCES workflows(id) ON DELETE CASCADE,
    sent           integer NOT NULL DEFAULT 0,
    delivered      integer NOT NULL DEFAULT 0,
    failed         integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, workflow_id)
);

-- Migrated copies of the legacy tables (same shape as the MySQL originals).
CREATE TABLE customers (
    customer_id  bigint PRIMARY KEY,
    name         text NOT NULL,
    phone        text,
    email        text,
    status       text NOT NULL DEFAULT 'active',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    subscription_id  bigint PRIMARY KEY,
    customer_id      bigint NOT NULL REFERENCES customers(customer_id),
    plan             text NOT NULL,
    status           text NOT NULL DEFAULT 'active',
    started_at       date NOT NULL,
    ends_at          date
);

CREATE TABLE payments (
    payment_id       bigint PRIMARY KEY,
    subscription_id  bigint NOT NULL REFERENCES subscriptions(subscription_id),
    amount           numeric(12,2) NOT NULL,
    currency         text NOT NULL DEFAULT 'KRW',
    paid_at          timestamptz NOT NULL
);

INSERT INTO customers (customer_id, name, phone, email, status)
SELECT i, 'customer ' || i, '010-' || lpad((1000 + i)::text, 4, '0') || '-0000',
       'c' || i || '@example.com', CASE WHEN i % 10 = 0 THEN 'inactive' ELSE 'active' END
FROM generate_series(1, 100) AS i;

INSERT INTO subscriptions (subscription_id, customer_id, plan, status, started_at)
SELECT i, i, (ARRAY['basic', 'pro', 'enterprise'])[1 + i % 3], 'active', DATE '2026-01-01' + i
FROM generate_series(1, 100) AS i;

INSERT INTO payments (payment_id, subscription_id, amount, paid_at)
SELECT i, 1 + (i % 100), 9900 + (i % 3) * 10000, TIMESTAMPTZ '2026-02-01 00:00+09' + i * interval '1 hour'
FROM generate_series(1, 300) AS i;

INSERT INTO workflows (name, description, status, trigger_type)
VALUES ('welcome', 'greets new customers', 'active', 'event'),
       ('renewal reminder', 'reminds before subscription ends', 'active', 'schedule'),
       ('win-back', 'inactive customers', 'draft', 'manual');

INSERT INTO message_templates (workflow_id, channel, body)
VALUES (1, 'sms', 'Welcome, #{name}!'),
       (2, 'email', 'Your #{plan} plan renews on #{ends_at}.'),
       (3, 'kakao', 'We miss you, #{name}.');

INSERT INTO individual_variable_mappings (template_id, variable_name, source_table, source_column)
VALUES (1, 'name', 'customers', 'name'),
       (2, 'plan', 'subscriptions', 'plan'),
       (2, 'ends_at', 'subscriptions', 'ends_at'),
       (3, 'name', 'customers', 'name');

INSERT INTO workflow_runs (workflow_id, customer_id, status, finished_at)
SELECT 1 + i % 2, i, 'done', now() FROM generate_series(1, 50) AS i;

INSERT INTO message_logs (run_id, customer_id, channel, status)
SELECT i, i, 'sms', CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'delivered' END
FROM generate_series(1, 50) AS i;

INSERT INTO daily_statistics (day, workflow_id, sent, delivered, failed)
SELECT DATE '2026-11-01' + d, w, 100 + d, 95 + d, 5 FROM generate_series(0, 24) AS d, generate_series(1, 2) AS w;

ALTER TABLE workflows OWNER TO platform_owner;
ALTER TABLE message_templates OWNER TO platform_owner;
ALTER TABLE individual_variable_mappings OWNER TO platform_owner;
ALTER TABLE workflow_runs OWNER TO platform_owner;
ALTER TABLE message_logs OWNER TO platform_owner;
ALTER TABLE daily_statistics OWNER TO platform_owner;
ALTER TABLE customers OWNER TO platform_owner;
ALTER TABLE subscriptions OWNER TO platform_owner;
ALTER TABLE payments OWNER TO platform_owner;

-- Row-level security as the migration guide sets it up (supabase_rls_fix.sql),
-- with Supabase's roles. switchyard's login (platform_owner, the tables' owner)
-- bypasses RLS; a [[users]] entry with upstream_role runs as one of these
-- roles instead, and the policies apply (README, "Per-client upstream roles").
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE service_role NOLOGIN BYPASSRLS;
-- A login of its own (upstream_user): an authenticated user of one tenant.
CREATE ROLE tenant_login LOGIN PASSWORD 'tenant-secret' IN ROLE authenticated;
-- The login may take these roles (upstream_role starts its sessions as one).
GRANT anon, authenticated, service_role TO platform_owner;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO anon, authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA public TO service_role;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO service_role;

ALTER TABLE individual_variable_mappings ENABLE ROW LEVEL SECURITY;
CREATE POLICY "service_role_bypass_rls" ON individual_variable_mappings
  FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "dev_full_access" ON individual_variable_mappings
  FOR ALL TO anon, authenticated USING (true) WITH CHECK (true);

-- Not in the guide: what anon may see of the workflows (active ones only) ...
ALTER TABLE workflows ENABLE ROW LEVEL SECURITY;
CREATE POLICY "service_role_bypass_rls" ON workflows
  FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "anon_sees_active" ON workflows FOR SELECT TO anon USING (status = 'active');
CREATE POLICY "authenticated_sees_all" ON workflows FOR SELECT TO authenticated USING (true);
-- ... and a tenant-scoped policy: an authenticated session sees the runs of
-- the customer it names with SET app.customer_id.
ALTER TABLE workflow_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY "service_role_bypass_rls" ON workflow_runs
  FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "tenant_runs" ON workflow_runs FOR SELECT TO authenticated
  USING (customer_id = nullif(current_setting('app.customer_id', true), '')::bigint);
