-- The legacy MySQL database of bench/legacy_reads.py (MariaDB 10.11 / MySQL 8 dialect).
-- @ROWS@ is replaced by the harness (--rows). Shapes as legacy schemas have them:
-- unsigned ids, ENUM status, DECIMAL money, DATETIME, a case-insensitive collation,
-- Korean names. subscriptions and payments exist because switchyard's [legacy] tables
-- must all be found in MySQL at start-up.
CREATE DATABASE crm CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE crm;

CREATE TABLE customers (
    customer_id  INT UNSIGNED NOT NULL PRIMARY KEY,
    name         VARCHAR(100) NOT NULL,
    phone        VARCHAR(20),
    email        VARCHAR(255),
    status       ENUM('active', 'inactive', 'suspended') NOT NULL DEFAULT 'active',
    balance      DECIMAL(12, 2) NOT NULL DEFAULT 0,
    created_at   DATETIME NOT NULL
) ENGINE = InnoDB;

CREATE TABLE subscriptions (
    subscription_id  INT UNSIGNED NOT NULL PRIMARY KEY,
    customer_id      INT UNSIGNED NOT NULL,
    plan             VARCHAR(20) NOT NULL,
    status           ENUM('active', 'cancelled') NOT NULL DEFAULT 'active',
    started_at       DATE NOT NULL,
    ends_at          DATE,
    KEY (customer_id)
) ENGINE = InnoDB;

CREATE TABLE payments (
    payment_id       INT UNSIGNED NOT NULL PRIMARY KEY,
    subscription_id  INT UNSIGNED NOT NULL,
    amount           DECIMAL(12, 2) NOT NULL,
    currency         CHAR(3) NOT NULL DEFAULT 'KRW',
    paid_at          DATETIME NOT NULL,
    KEY (subscription_id)
) ENGINE = InnoDB;

INSERT INTO customers (customer_id, name, phone, email, status, balance, created_at)
SELECT seq, CONCAT('고객 ', seq), CONCAT('010-', LPAD(seq % 10000, 4, '0'), '-', LPAD(seq % 9973, 4, '0')),
       CONCAT('c', seq, '@example.com'),
       CASE WHEN seq % 97 = 0 THEN 'suspended' WHEN seq % 10 = 0 THEN 'inactive' ELSE 'active' END,
       (seq * 7919) % 1000000 / 100,
       TIMESTAMP '2020-01-01 00:00:00' + INTERVAL (seq * 617) % 200000000 SECOND
FROM seq_1_to_@ROWS@;

INSERT INTO subscriptions (subscription_id, customer_id, plan, status, started_at)
SELECT seq, seq, ELT(1 + seq % 3, 'basic', 'pro', 'enterprise'), 'active', DATE '2026-01-01' + INTERVAL seq % 300 DAY
FROM seq_1_to_1000;

INSERT INTO payments (payment_id, subscription_id, amount, paid_at)
SELECT seq, 1 + seq % 1000, 9900 + (seq % 3) * 10000, TIMESTAMP '2026-02-01 00:00:00' + INTERVAL seq HOUR
FROM seq_1_to_3000;

-- The read-only account the migration guide creates: SELECT only.
CREATE USER 'crm_readonly'@'127.0.0.1' IDENTIFIED BY 'ro-secret';
CREATE USER 'crm_readonly'@'localhost' IDENTIFIED BY 'ro-secret';
GRANT SELECT ON crm.* TO 'crm_readonly'@'127.0.0.1';
GRANT SELECT ON crm.* TO 'crm_readonly'@'localhost';
