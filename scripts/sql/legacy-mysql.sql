-- The platform's legacy tables as its operational MySQL holds them: customers,
-- subscriptions and payments, with the column types, collations and data that
-- make a Postgres-dialect proxy work for its living (issue 7's type map).
--
-- Loaded by scripts/mariadb-legacy.sh into the current database (MariaDB 10.11;
-- kept to SQL MySQL 8 also runs). Deterministic: the generated rows are
-- arithmetic on a numbers table, no RAND(), no NOW(). The test suite's Postgres
-- copy (database legacy_ref, scripts/sql/legacy-pg.sql) is loaded FROM these
-- rows by tests/integration/conftest.py, so the two cannot drift.
--
-- Literals below are standard SQL strings: NO_BACKSLASH_ESCAPES is on, a
-- backslash is a backslash, a quote is doubled. Times are UTC.
SET NAMES utf8mb4;
SET time_zone = '+00:00';
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_BACKSLASH_ESCAPES,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO';
SET SESSION max_recursive_iterations = 100000;

CREATE TABLE customers (
    customer_id   INT UNSIGNED NOT NULL AUTO_INCREMENT,
    name          VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL,
    phone         VARCHAR(20) NULL,
    email         VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    -- declaration order is not alphabetical: MySQL sorts ENUMs by it, Postgres (text) does not
    status        ENUM('active','suspended','inactive') NOT NULL DEFAULT 'active',
    is_vip        TINYINT(1) NOT NULL DEFAULT 0,
    grade         TINYINT NULL,
    points        SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    visits        MEDIUMINT NULL,
    balance       DECIMAL(12,2) NOT NULL DEFAULT 0.00,
    score         FLOAT NULL,
    ratio         DOUBLE NULL,
    country       CHAR(2) NULL,
    birth_year    YEAR NULL,
    birthday      DATE NULL,
    created_at    DATETIME NOT NULL,
    updated_at    TIMESTAMP(6) NULL DEFAULT NULL,
    last_login_at DATETIME NULL,           -- holds one zero date: Postgres sees NULL
    memo          TEXT NULL,
    tags          SET('vip','new','churn') NOT NULL DEFAULT '',
    profile       JSON NULL,
    avatar        VARBINARY(64) NULL,
    flags         BIT(1) NOT NULL DEFAULT b'0',
    PRIMARY KEY (customer_id),
    KEY idx_customers_name (name),
    UNIQUE KEY uq_customers_email (email),
    KEY idx_customers_status (status),
    KEY idx_customers_created_at (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE subscriptions (
    subscription_id BIGINT UNSIGNED NOT NULL,
    customer_id     INT UNSIGNED NOT NULL,
    plan            VARCHAR(30) NOT NULL,
    status          ENUM('trial','active','past_due','canceled','expired') NOT NULL,
    started_at      DATE NOT NULL,
    ends_at         DATE NULL,
    price           DECIMAL(10,2) NOT NULL,
    auto_renew      TINYINT(1) NOT NULL DEFAULT 1,
    renew_time      TIME NULL,
    PRIMARY KEY (subscription_id),
    KEY idx_subscriptions_customer (customer_id),
    KEY idx_subscriptions_plan (plan),
    CONSTRAINT fk_subscriptions_customer FOREIGN KEY (customer_id) REFERENCES customers (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE payments (
    payment_id      BIGINT NOT NULL,
    subscription_id BIGINT UNSIGNED NOT NULL,
    amount          DECIMAL(12,2) NOT NULL,
    currency        CHAR(3) NOT NULL DEFAULT 'KRW',
    paid_at         TIMESTAMP NOT NULL,
    method          ENUM('card','bank_transfer','kakaopay','naverpay','toss') NULL,
    note            VARCHAR(200) NULL,
    raw             BLOB NULL,
    PRIMARY KEY (payment_id),
    KEY idx_payments_subscription (subscription_id),
    KEY idx_payments_paid_at (paid_at),
    CONSTRAINT fk_payments_subscription FOREIGN KEY (subscription_id) REFERENCES subscriptions (subscription_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TEMPORARY TABLE nums (n INT NOT NULL PRIMARY KEY);
INSERT INTO nums
WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000)
SELECT n FROM s;

-- Customers 1-22: the hard cases, one by one.
INSERT INTO customers (customer_id, name, phone, email, status, is_vip, grade, points, visits,
    balance, score, ratio, country, birth_year, birthday, created_at, updated_at, last_login_at,
    memo, tags, profile, avatar, flags) VALUES
(1, '김민준', '010-1234-5678', 'minjun.kim@example.com', 'active', 1, 5, 1200, 35,
    150000.50, 0.1, 0.1, 'KR', 1990, '1990-05-05', '1999-12-31 23:59:59', '2024-03-10 06:59:59.999999',
    '2024-03-10 02:30:00', 'VIP since 1999', 'vip', '{"tier": 3, "lang": "ko", "name": "김민준"}',
    X'00FF10', b'1'),
(2, '이서연', '010-2222-3333', 'seoyeon.lee@example.com', 'inactive', 0, 1, 0, 0,
    0.00, 2.5, 0.25, 'KR', 1999, '1999-12-31', '2000-01-01 00:00:00', '2024-03-10 07:00:00',
    '2024-03-10 03:00:00', '', '', '{}', X'', b'0'),
(3, 'Kim', '+1-212-555-0100', 'Kim@Example.com', 'active', 0, 3, 10, 1,
    12.34, 1.5, 1.5, 'US', 1985, '1985-01-01', '2005-06-15 12:00:00', '2005-06-15 12:00:00',
    NULL, 'mixed case Kim', 'new', '{"tier": 1}', X'4B', b'0'),
(4, 'kim', '+1-212-555-0101', 'kim2@example.com', 'suspended', 0, 3, 11, 2,
    -12.34, -1.5, -1.5, 'US', 1986, '1986-02-02', '2005-06-15 12:00:01', '2005-06-15 12:00:01.5',
    NULL, 'lower case kim', 'new', '{"tier": 1}', X'6B', b'1'),
(5, 'KIM', NULL, 'KIM3@EXAMPLE.COM', 'active', 1, 3, 12, 3,
    1.00, 0.75, 0.001, 'KR', 1987, '1987-03-03', '2005-06-15 12:00:02', NULL,
    '2020-01-01 00:00:00', 'upper case KIM; last login is a zero date', 'vip,new', NULL, NULL, b'0'),
(6, 'Lee ', '010-6666-0006', 'lee.trailing@example.com', 'active', 0, 2, 100, 10,
    500.00, 10, 100, 'KR', 1991, '1991-04-04', '2010-03-14 01:59:59', '2010-03-14 06:59:59',
    NULL, 'trailing space ', 'churn', '{"note": "trailing space in name"}', X'20', b'0'),
(7, 'Lee', '010-7777-0007', 'lee@example.com', 'active', 0, 2, 101, 11,
    500.01, 10.25, 100.5, 'KR', 1991, '1991-04-05', '2010-03-14 03:00:00', '2010-03-14 07:00:00',
    NULL, 'no trailing space', 'vip,churn', '{"note": "plain"}', X'4C6565', b'1'),
(8, 'O''Brien', '353-1-555-0199', 'obrien@example.ie', 'inactive', 0, 4, 7, 4,
    42.00, 4.25, 0.42, 'IE', 1970, '1970-01-01', '2001-09-09 01:46:40', '2001-09-09 01:46:40',
    NULL, 'it''s "quoted" and ''single''', 'new', '{"quote": "it''s \"q\""}', X'27', b'0'),
(9, 'C:\Users\김', '010-9999-0009', 'back\slash@example.com', 'active', 0, 0, 9, 9,
    9.09, 9.5, 9.09, 'KR', 1999, '1999-09-09', '1999-09-09 09:09:09', '1999-09-09 09:09:09',
    NULL, 'path C:\temp\new and \\ double', '', '{"path": "C:\\temp"}', X'5C', b'0'),
(10, '100% pure', '010-1000-0010', 'percent@example.com', 'active', 1, 10, 100, 100,
    100.00, 100, 0.5, 'KR', 2000, '2000-02-29', '2000-02-29 00:00:00', '2000-02-29 00:00:00',
    NULL, '50%_off coupon', 'vip', '{"discount": "50%"}', X'25', b'1'),
(11, 'under_score', '010-1100-0011', 'under_score@example.com', 'suspended', 0, 11, 110, 110,
    110.00, 11.125, 0.11, 'JP', 2001, '2001-01-01', '2001-01-01 00:00:00', '2001-01-01 00:00:00',
    NULL, 'a_b and a%b', 'new,churn', '{"k": "a_b"}', X'5F', b'0'),
(12, CONVERT(X'e18480e185b5e186b7e18486e185b5e186abe1848ce185aee186ab' USING utf8mb4), '010-1200-0012',
    'nfd@example.com', 'active', 0, 1, 12, 12,
    12.00, 12, 12, 'KR', 1995, '1995-12-12', '2012-12-12 12:12:12', '2012-12-12 12:12:12',
    NULL, 'decomposed Hangul (NFD) name', '', NULL, NULL, b'0'),
(13, '박지호', '010-1300-0013', 'jiho.park@example.com', 'inactive', 0, -128, 65535, -8388608,
    -9999999999.99, -12345.5, -1e-300, 'KR', 1901, '1000-01-01', '1999-01-01 00:00:00', '1970-01-01 00:00:01',
    NULL, 'minimum values', '', '{"min": true}', X'00', b'0'),
(14, '최하은', '010-1400-0014', 'haeun.choi@example.com', 'active', 1, 127, 0, 8388607,
    9999999999.99, 16777216, 1e300, 'KR', 2155, '9999-12-31', '2037-12-31 23:59:59', '2038-01-19 03:14:07.999999',
    NULL, 'maximum values', 'vip,new,churn', '{"max": true}', X'FFFFFFFFFFFFFFFF', b'1'),
(15, '정우진 ', '010-1500-0015', 'woojin.jung@example.com', 'active', 0, 15, 1500, 150,
    1500.15, 15.5, 1.5, 'KR', 1980, '2050-12-31', '2040-02-29 12:00:00', '2038-01-19 03:14:07',
    NULL, 'far future dates', 'new', '{"future": 2040}', X'0F', b'0'),
(16, 'Emoji 😀', '010-1600-0016', 'emoji@example.com', 'active', 0, 16, 1600, 160,
    16.00, 0.0625, 0.16, 'KR', 1996, '1996-06-16', '2099-12-31 23:59:59', '2016-06-16 16:16:16',
    NULL, '😀 four-byte UTF-8 and 한국어', 'vip', '{"emoji": "😀"}', X'F09F9880', b'1'),
(17, '윤서준', '010-1700-0017', 'seojun.yoon@example.com', 'active', 0, 17, 1700, 170,
    17.00, 17.75, 1.7, 'KR', 1997, '1997-07-17', '2025-01-01 00:00:00', '2024-12-31 15:00:00',
    '2024-12-31 14:59:59', 'Asia/Seoul midnight: updated_at is 2025-01-01 00:00 KST', 'new', '{"tz": "Asia/Seoul"}', X'11', b'0'),
(18, '장하준', '010-1800-0018', 'hajun.jang@example.com', 'suspended', 0, 18, 1800, 180,
    18.00, 18.5, 1.8, 'US', 1998, '1998-08-18', '2024-11-03 01:30:00', '2024-11-03 05:30:00',
    '2024-11-03 06:30:00', 'America/New_York fall-back hour: 01:30 EDT and 01:30 EST', 'churn', '{"tz": "America/New_York"}', X'12', b'1'),
(19, '임지우', NULL, NULL, 'inactive', 0, NULL, 19, NULL,
    0.00, NULL, NULL, NULL, NULL, NULL, '2019-09-19 19:19:19', NULL,
    NULL, NULL, '', NULL, NULL, b'0'),
(20, 'Àlex', '010-2000-0020', 'alex.accent@example.com', 'active', 0, 20, 2000, 200,
    20.00, 20.25, 2, 'FR', 1992, '1992-02-20', '2020-02-20 20:20:20', '2020-02-20 20:20:20',
    NULL, CONCAT('line1', CHAR(10), 'line2', CHAR(9), 'tabbed'), 'vip', '{"accent": "À"}', X'C380', b'0'),
(21, 'alex', '010-2100-0021', 'alex@example.com', 'active', 0, 21, 2100, 210,
    21.00, 21.5, 2.1, 'K', 1993, '1993-03-21', '2021-03-14 06:59:59', '2021-03-14 06:59:59',
    NULL, 'one-letter country in CHAR(2)', 'new', '{"accent": null}', X'61', b'1'),
(22, '', NULL, 'empty.name@example.com', 'suspended', 0, 0, 0, 0,
    0.00, 0, 0, '', 2002, '2002-02-22', '2022-02-22 22:22:22', '2022-02-22 22:22:22',
    NULL, 'empty name and country', '', '[]', X'', b'0');

-- Customers 23-200: Korean names (repeats included), everything arithmetic on n.
INSERT INTO customers (customer_id, name, phone, email, status, is_vip, grade, points, visits,
    balance, score, ratio, country, birth_year, birthday, created_at, updated_at, last_login_at,
    memo, tags, profile, avatar, flags)
SELECT n,
    CASE WHEN n % 25 = 0 THEN ELT(1 + (n DIV 25) % 4, 'Park', 'park', 'Choi', 'CHOI')
         ELSE CONCAT(ELT(1 + n % 20, '김', '이', '박', '최', '정', '강', '조', '윤', '장', '임',
                                     '한', '오', '서', '신', '권', '황', '안', '송', '류', '전'),
                     ELT(1 + (n * 7) % 14, '민준', '서연', '도윤', '서윤', '하준', '지우', '시우',
                                           '하은', '지호', '민서', '주원', '지유', '예준', '채원'))
    END,
    CASE WHEN n % 13 = 0 THEN NULL
         ELSE CONCAT('010-', LPAD((n * 7919) % 10000, 4, '0'), '-', LPAD((n * 104729) % 10000, 4, '0')) END,
    CASE WHEN n % 17 = 0 THEN NULL
         ELSE CONCAT('user', n, '@', ELT(1 + n % 4, 'example.com', 'Example.COM', 'mail.kr', 'naver.com')) END,
    CASE n % 7 WHEN 0 THEN 'inactive' WHEN 3 THEN 'suspended' ELSE 'active' END,
    n % 5 = 0,
    CASE WHEN n % 19 = 0 THEN NULL ELSE (n * 37) % 256 - 128 END,
    (n * 4099) % 65536,
    CASE WHEN n % 23 = 0 THEN NULL ELSE (n * 104729) % 16777216 - 8388608 END,
    CAST(((n * 7919) % 2000000 - 500000) / 100 AS DECIMAL(12,2)),
    CASE WHEN n % 11 = 0 THEN NULL ELSE ((n * 31) % 1000) / 8 END,
    CASE WHEN n % 29 = 0 THEN NULL ELSE ((n * 13) % 1000) / 1000 END,
    CASE WHEN n % 31 = 0 THEN NULL ELSE ELT(1 + n % 5, 'KR', 'KR', 'US', 'JP', 'KR') END,
    CASE WHEN n % 37 = 0 THEN NULL ELSE 1950 + n % 60 END,
    CASE WHEN n % 7 = 1 THEN NULL ELSE DATE_ADD('1950-01-01', INTERVAL (n * 271) % 20000 DAY) END,
    DATE_ADD('1999-01-01 00:00:00', INTERVAL n * 5555555 SECOND),
    CASE WHEN n % 9 = 0 THEN NULL
         ELSE DATE_ADD(DATE_ADD('2000-01-01 00:00:00', INTERVAL n * 4321987 SECOND),
                       INTERVAL (n * 123457) % 1000000 MICROSECOND) END,
    CASE WHEN n % 4 = 0 THEN NULL ELSE DATE_ADD('2024-01-01 00:00:00', INTERVAL n * 3600 SECOND) END,
    CASE n % 6 WHEN 0 THEN NULL WHEN 1 THEN CONCAT('메모 ', n) WHEN 2 THEN 'VIP 고객'
               WHEN 3 THEN CONCAT('call after ', n % 12, 'pm') WHEN 4 THEN 'promo_10%' ELSE 'Memo' END,
    ELT(1 + n % 6, '', 'vip', 'new', 'vip,new', 'churn', 'new,churn'),
    CASE WHEN n % 8 = 0 THEN NULL
         ELSE CONCAT('{"tier": ', n % 3, ', "lang": "', ELT(1 + n % 2, 'ko', 'en'), '"}') END,
    CASE WHEN n % 3 = 0 THEN NULL ELSE UNHEX(LPAD(HEX((n * 2654435761) % 4294967296), 8, '0')) END,
    n % 2
FROM nums WHERE n BETWEEN 23 AND 200;

-- Zero dates are what legacy MySQL servers hold where a date was never known.
SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION,NO_BACKSLASH_ESCAPES';
UPDATE customers SET last_login_at = '0000-00-00 00:00:00' WHERE customer_id = 5;
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_BACKSLASH_ESCAPES,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO';

-- Subscriptions 1-295, then five ids beyond int8 and at the edges of BIGINT UNSIGNED.
INSERT INTO subscriptions (subscription_id, customer_id, plan, status, started_at, ends_at, price,
    auto_renew, renew_time)
SELECT n,
    1 + (n * 7) % 200,
    ELT(1 + n % 6, 'basic', 'pro', 'enterprise', 'Pro', 'pro ', 'basic'),
    ELT(1 + (n * 3) % 5, 'trial', 'active', 'past_due', 'canceled', 'expired'),
    DATE_ADD('2019-01-01', INTERVAL (n * 37) % 2500 DAY),
    CASE WHEN n % 4 = 0 THEN NULL
         ELSE DATE_ADD(DATE_ADD('2019-01-01', INTERVAL (n * 37) % 2500 DAY), INTERVAL 30 * (1 + n % 12) DAY) END,
    ELT(1 + n % 5, 9900.00, 29900.00, 99000.00, 0.00, 4.99),
    n % 3 <> 0,
    CASE WHEN n % 10 = 0 THEN NULL ELSE SEC_TO_TIME((n * 3607) % 86400) END
FROM nums WHERE n BETWEEN 1 AND 295;

INSERT INTO subscriptions (subscription_id, customer_id, plan, status, started_at, ends_at, price,
    auto_renew, renew_time) VALUES
(9223372036854775807, 1, 'enterprise', 'active', '1999-12-31', '2040-01-01', 12345678.90, 1, '-01:30:00'),
(9223372036854775808, 3, 'Enterprise', 'trial', '2038-01-19', NULL, -1.00, 0, '838:59:59'),
(10000000000000000000, 4, 'pro', 'expired', '2000-02-29', '2000-03-01', 0.01, 0, '24:00:00'),
(12345678901234567890, 17, 'basic', 'past_due', '2024-12-31', '2025-01-01', 99999999.99, 1, '00:00:00'),
(18446744073709551615, 19, 'basic', 'canceled', '2024-03-10', '2024-11-03', 1.10, 0, NULL);

-- Payments 1-990, then ten at the edges: ids, DST changes, Seoul midnight, TIMESTAMP's range.
INSERT INTO payments (payment_id, subscription_id, amount, currency, paid_at, method, note, raw)
SELECT n,
    1 + (n * 13) % 295,
    CASE WHEN n % 25 = 0 THEN -((n * 7919) % 1000000) / 100 ELSE ((n * 7919) % 1000000) / 100 END,
    ELT(1 + n % 4, 'KRW', 'KRW', 'USD', 'JPY'),
    DATE_ADD('2019-01-01 00:00:00', INTERVAL n * 190003 SECOND),
    ELT(1 + n % 6, 'card', 'bank_transfer', 'kakaopay', 'naverpay', 'toss', NULL),
    CASE n % 10 WHEN 0 THEN '100% 환불' WHEN 1 THEN 'a_b' WHEN 2 THEN 'O''Brien'
                WHEN 3 THEN 'back\slash' WHEN 4 THEN '' WHEN 5 THEN '정기 결제' ELSE NULL END,
    CASE WHEN n % 50 = 0 THEN UNHEX(CONCAT('00FF', LPAD(HEX(n), 4, '0'))) ELSE NULL END
FROM nums WHERE n BETWEEN 1 AND 990;

INSERT INTO payments (payment_id, subscription_id, amount, currency, paid_at, method, note, raw) VALUES
(-9223372036854775808, 9223372036854775807, -9999999999.99, 'KRW', '1970-01-01 00:00:01', 'card', 'minimum id', X'00'),
(9223372036854775807, 18446744073709551615, 9999999999.99, 'USD', '2038-01-19 03:14:07', 'toss', 'maximum id', X'FF'),
(5000000000, 9223372036854775808, 0.00, 'JPY', '1999-12-31 23:59:59', NULL, NULL, NULL),
(-1, 10000000000000000000, -0.01, 'KRW', '2024-03-10 06:59:59', 'card', 'NY: 01:59:59 EST, the last second before the spring gap', NULL),
(991, 12345678901234567890, 10.00, 'KRW', '2024-03-10 07:00:00', 'kakaopay', 'NY: 03:00:00 EDT, the first second after', NULL),
(992, 1, 20.00, 'USD', '2024-11-03 05:30:00', 'naverpay', 'NY: 01:30 EDT', NULL),
(993, 1, 30.00, 'USD', '2024-11-03 06:30:00', 'naverpay', 'NY: 01:30 EST', NULL),
(994, 2, 40.00, 'KRW', '2024-12-31 15:00:00', 'toss', 'Seoul: 2025-01-01 00:00:00 KST', X'27225C'),
(995, 2, 50.00, 'KRW', '2024-12-31 14:59:59', 'bank_transfer', 'Seoul: 2024-12-31 23:59:59 KST', NULL),
(996, 3, 60.00, 'KRW', '2000-02-29 15:00:00', 'card', 'Seoul: leap day midnight 2000-03-01 KST', NULL);
