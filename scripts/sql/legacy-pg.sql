-- The Postgres reference copy of the legacy tables (scripts/sql/legacy-mysql.sql),
-- each column of exactly the Postgres type switchyard serves the MySQL column as
-- (router/catalog.h): what a client would see from a migrated copy made with
-- these types. The database (legacy_ref in the tests) is created with collation
-- C.UTF-8, like Supabase's.
--
-- Only the schema is here: the rows are copied FROM the loaded MariaDB by
-- tests/integration/conftest.py (load_legacy_ref), so the two sides cannot drift;
-- test_legacy_diff.py::test_reference_copy_is_identical proves they hold the
-- same rows.
--
--   MySQL                          Postgres
--   TINYINT(1), BIT(1)             boolean
--   TINYINT, SMALLINT, YEAR        smallint
--   SMALLINT UNSIGNED, MEDIUMINT,  integer
--   INT
--   INT UNSIGNED, BIGINT           bigint
--   BIGINT UNSIGNED                numeric (no typmod, as catalog.c and pgloader)
--   DECIMAL(p,s)                   numeric(p,s)
--   FLOAT / DOUBLE                 real / double precision
--   DATE / DATETIME / TIMESTAMP(p) date / timestamp / timestamptz(p)
--   TIME                           interval
--   CHAR(n) / VARCHAR(n)           char(n) / varchar(n)
--   TEXT, ENUM, SET                text
--   VARBINARY, BLOB                bytea
--   JSON                           json (not jsonb: the text is kept as written)

CREATE TABLE customers (
    customer_id   bigint NOT NULL PRIMARY KEY,
    name          varchar(100) NOT NULL,
    phone         varchar(20),
    email         varchar(255) UNIQUE,
    status        text NOT NULL,
    is_vip        boolean NOT NULL,
    grade         smallint,
    points        integer NOT NULL,
    visits        integer,
    balance       numeric(12,2) NOT NULL,
    score         real,
    ratio         double precision,
    country       char(2),
    birth_year    smallint,
    birthday      date,
    created_at    timestamp NOT NULL,
    updated_at    timestamptz(6),
    last_login_at timestamp,
    memo          text,
    tags          text NOT NULL,
    profile       json,
    avatar        bytea,
    flags         boolean NOT NULL
);
CREATE INDEX idx_customers_name ON customers (name);
CREATE INDEX idx_customers_status ON customers (status);
CREATE INDEX idx_customers_created_at ON customers (created_at);

CREATE TABLE subscriptions (
    subscription_id numeric NOT NULL PRIMARY KEY,
    customer_id     bigint NOT NULL REFERENCES customers (customer_id),
    plan            varchar(30) NOT NULL,
    status          text NOT NULL,
    started_at      date NOT NULL,
    ends_at         date,
    price           numeric(10,2) NOT NULL,
    auto_renew      boolean NOT NULL,
    renew_time      interval
);
CREATE INDEX idx_subscriptions_customer ON subscriptions (customer_id);
CREATE INDEX idx_subscriptions_plan ON subscriptions (plan);

CREATE TABLE payments (
    payment_id      bigint NOT NULL PRIMARY KEY,
    subscription_id numeric NOT NULL REFERENCES subscriptions (subscription_id),
    amount          numeric(12,2) NOT NULL,
    currency        char(3) NOT NULL,
    paid_at         timestamptz NOT NULL,
    method          text,
    note            varchar(200),
    raw             bytea
);
CREATE INDEX idx_payments_subscription ON payments (subscription_id);
CREATE INDEX idx_payments_paid_at ON payments (paid_at);
