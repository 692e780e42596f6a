-- Legacy read, point lookup by primary key (bench/legacy_reads.py; pgbench -D rows=N).
-- The same statement mysql_direct --workload point sends to MariaDB with the id inlined.
\set id random(1, :rows)
SELECT customer_id, name, email, status, balance, created_at FROM customers WHERE customer_id = :id;
