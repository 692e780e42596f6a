-- The legacy schema test_translate.c's catalog mirrors, with a few rows that
-- exercise the differences (case, trailing blanks, NULLs, Korean text).
CREATE DATABASE IF NOT EXISTS crm CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE crm;
CREATE TABLE customers (
  customer_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) COLLATE utf8mb4_general_ci NOT NULL,
  phone VARCHAR(20) NULL,
  email VARCHAR(255) NULL,
  status ENUM('active','inactive','suspended') NOT NULL,
  grade TINYINT(1) NOT NULL DEFAULT 0,
  balance DECIMAL(12,2) NOT NULL DEFAULT 0,
  created_at DATETIME NOT NULL,
  updated_at TIMESTAMP NULL,
  KEY idx_name (name)
);
CREATE TABLE subscriptions (
  subscription_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  plan VARCHAR(50) NOT NULL,
  status ENUM('active','cancelled','expired') NOT NULL,
  started_at DATE NOT NULL,
  ends_at DATE NULL,
  price DECIMAL(10,2) NOT NULL,
  auto_renew TINYINT(1) NOT NULL DEFAULT 1,
  KEY idx_customer (customer_id)
);
CREATE TABLE payments (
  payment_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  subscription_id INT UNSIGNED NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  currency CHAR(3) NOT NULL,
  paid_at TIMESTAMP NOT NULL,
  memo TEXT NULL,
  meta JSON NULL,
  KEY idx_sub (subscription_id)
);
CREATE TABLE regions (region_id INT NOT NULL PRIMARY KEY, shape GEOMETRY NULL);
INSERT INTO customers (name, phone, email, status, grade, balance, created_at, updated_at) VALUES
  ('Kim', '010-1111', 'kim@example.com', 'active', 1, 120.50, '2024-01-05 10:00:00', '2024-02-01 00:00:00'),
  ('kim', NULL, 'KIM@example.com', 'inactive', 0, 0, '2024-01-06 11:30:00', NULL),
  ('Kim ', '010-2222', NULL, 'suspended', 0, 15, '2024-03-01 09:00:00', '2024-03-02 12:00:00'),
  ('김철수', '010-3333', 'chul@example.com', 'active', 1, 999.99, '2023-12-31 23:59:59', NULL),
  ('it''s', NULL, 'a_b@example.com', 'active', 0, 5, '2024-06-15 08:00:00', '2024-06-15 08:00:00');
INSERT INTO subscriptions (customer_id, plan, status, started_at, ends_at, price, auto_renew) VALUES
  (1, 'pro', 'active', '2024-01-05', NULL, 29.90, 1),
  (1, 'Pro', 'expired', '2023-01-05', '2024-01-04', 19.90, 0),
  (2, 'basic', 'cancelled', '2024-02-01', '2024-03-01', 9.90, 0),
  (4, 'Kim', 'active', '2024-01-01', NULL, 49.00, 1);
INSERT INTO payments (subscription_id, amount, currency, paid_at, memo, meta) VALUES
  (1, 29.90, 'KRW', '2024-01-05 10:00:00', 'first', '{"k": 1}'),
  (1, 29.90, 'KRW', '2024-02-05 10:00:00', NULL, NULL),
  (3, 9.90, 'USD', '2024-02-01 00:00:00', 'back\\slash % _', NULL);
