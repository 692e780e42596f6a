-- Legacy read, 100 consecutive rows by primary key (bench/legacy_reads.py; pgbench -D rows=N).
-- The same statement mysql_direct --workload range sends to MariaDB with both bounds inlined.
\set id random(1, :rows - 99)
\set last :id + 99
SELECT customer_id, name, email, status, balance, created_at FROM customers WHERE customer_id BETWEEN :id AND :last ORDER BY customer_id;
