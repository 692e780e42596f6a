// node-postgres through switchyard. Run by tests/integration/test_node_pg.py:
//   node client.js <connection string> <scratch table name>
// Prints one JSON object with what it saw; the pytest test checks it.
'use strict';

const { Client } = require('pg');

async function main() {
  const [url, table] = process.argv.slice(2);
  const out = {};
  const client = new Client({ connectionString: url, ssl: false });
  await client.connect();
  try {
    let r = await client.query('SELECT 1 + 1 AS two, current_database() AS db');
    out.simple = r.rows[0];

    r = await client.query('SELECT name FROM workflows ORDER BY id');
    out.workflows = r.rows.map((row) => row.name);

    r = await client.query('SELECT $1::int * 2 AS doubled, $2::text AS greeting, $3::int IS NULL AS isnull',
      [21, 'hello', null]);
    out.params = r.rows[0];

    // A named (server-prepared) statement used twice.
    const named = { name: 'by_status', text: 'SELECT count(*)::int AS n FROM workflows WHERE status = $1' };
    out.named = [
      (await client.query({ ...named, values: ['active'] })).rows[0].n,
      (await client.query({ ...named, values: ['draft'] })).rows[0].n,
    ];

    await client.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} VALUES ($1, $2)`, [1, 'committed']);
    await client.query('COMMIT');
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} VALUES ($1, $2)`, [2, 'rolled back']);
    await client.query('ROLLBACK');
    r = await client.query(`SELECT id, v FROM ${table} ORDER BY id`);
    out.txn = r.rows;

    try {
      await client.query('SELECT 1/0');
      out.error = null;
    } catch (e) {
      out.error = e.code;
    }
    r = await client.query('SELECT $1::text AS after', ['still usable']);
    out.after = r.rows[0].after;
  } finally {
    await client.end();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`node client failed: ${e.stack || e}\n`);
  process.exit(1);
});
