// node-postgres reading the legacy tables. Run by tests/integration/test_legacy_drivers.py as
//   node legacy.js <connection string> [CA file: TLS verify-full, for the Postgres reference]
// once through switchyard (served by MariaDB) and once on the Postgres copy; prints one JSON
// object that must be the same both times.
'use strict';

const fs = require('fs');
const { Client, types } = require('pg');

// Values as the server sent them (text): compare the wire, not node's conversions.
const raw = (v) => v;
for (const oid of [16, 17, 20, 21, 23, 700, 701, 1082, 1114, 1184, 1186, 1700, 114]) {
  types.setTypeParser(oid, raw);
}

function result(r) {
  return {
    command: r.command,
    rowCount: r.rowCount,
    fields: r.fields.map((f) => [f.name, f.dataTypeID]),
    rows: r.rows,
  };
}

async function main() {
  const [url, ca] = process.argv.slice(2);
  const ssl = ca ? { ca: fs.readFileSync(ca), rejectUnauthorized: true } : false;
  const client = new Client({ connectionString: url, ssl });
  await client.connect();
  const out = {};
  try {
    await client.query("SET TimeZone = 'UTC'");
    // Simple query protocol (no parameters).
    out.simple = result(await client.query(
      'SELECT customer_id, name, email, status, is_vip, points, balance, created_at, updated_at' +
      ' FROM customers WHERE customer_id <= 25 ORDER BY customer_id'));
    out.count = result(await client.query('SELECT count(*) AS n, sum(points) AS p FROM customers'));
    // Extended protocol with parameters of several JS types.
    out.params = result(await client.query(
      'SELECT customer_id, name, balance FROM customers WHERE status = $1 AND points >= $2' +
      ' AND balance > $3 AND created_at < $4 ORDER BY customer_id LIMIT 30',
      ['active', 100, '10.5', '2024-01-01 00:00:00']));
    out.nullParam = result(await client.query(
      'SELECT count(*) AS n FROM customers WHERE phone IS NOT DISTINCT FROM $1', [null]));
    out.boolParam = result(await client.query(
      'SELECT count(*) AS n FROM subscriptions WHERE auto_renew = $1', [true]));
    out.koreanParam = result(await client.query(
      'SELECT customer_id, name FROM customers WHERE name LIKE $1 ORDER BY customer_id', ['김%']));
    // A named prepared statement: Parse once, then Bind/Execute with other values.
    const named = {
      name: 'legacy_payments_of',
      text: 'SELECT payment_id, amount, currency, paid_at FROM payments WHERE subscription_id = $1' +
        ' ORDER BY payment_id',
    };
    out.named = [];
    for (const sid of [1, 2, 3, 42, 99999]) {
      out.named.push(result(await client.query({ ...named, values: [sid] })));
    }
    // rowMode array.
    out.array = result(await client.query({
      text: 'SELECT plan, count(*), min(price), max(price) FROM subscriptions GROUP BY plan ORDER BY plan',
      rowMode: 'array',
    }));
    out.arrayParams = result(await client.query({
      text: 'SELECT subscription_id, plan, started_at, ends_at, renew_time FROM subscriptions' +
        ' WHERE customer_id = $1 ORDER BY subscription_id',
      values: [7],
      rowMode: 'array',
    }));
    // Two reads in a transaction block.
    await client.query('BEGIN');
    const a = result(await client.query('SELECT count(*) FROM payments'));
    const b = result(await client.query('SELECT count(*) FROM payments WHERE amount > $1', [1000]));
    await client.query('COMMIT');
    out.txn = [a, b];
    // An error, and the session goes on.
    try {
      await client.query('SELECT no_such_column FROM customers');
      out.error = null;
    } catch (e) {
      out.error = e.code;
    }
    out.after = result(await client.query('SELECT name FROM customers WHERE customer_id = $1', [1]));
  } finally {
    await client.end();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`legacy.js failed: ${e.stack || e}\n`);
  process.exit(1);
});
