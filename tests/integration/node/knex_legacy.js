// knex (query builder, "pg" client) reading the legacy tables. Run by
// tests/integration/test_legacy_drivers.py as
//   node knex_legacy.js <connection string> [CA file: TLS verify-full, for the Postgres reference]
// once through switchyard and once on the Postgres copy; prints one JSON object
// ({name: {sql, rows}}) that must be the same both times.
'use strict';

const fs = require('fs');
const { types } = require('pg');
const knexFactory = require('knex');

for (const oid of [16, 17, 20, 21, 23, 700, 701, 1082, 1114, 1184, 1186, 1700, 114]) {
  types.setTypeParser(oid, (v) => v);
}

async function main() {
  const [url, ca] = process.argv.slice(2);
  const ssl = ca ? { ca: fs.readFileSync(ca), rejectUnauthorized: true } : false;
  const knex = knexFactory({
    client: 'pg',
    connection: { connectionString: url, ssl },
    pool: { min: 1, max: 2 },
  });
  const out = {};
  const run = async (name, builder) => {
    const sql = builder.toSQL().toNative();
    try {
      out[name] = { sql: sql.sql, rows: await builder };
    } catch (e) {
      // one builder's failure is recorded, the others still run
      out[name] = { sql: sql.sql, error: `${e.code} ${e.message}` };
    }
  };
  try {
    await run('active', knex('customers')
      .select('customer_id', 'name', 'email', 'points', 'balance')
      .where({ status: 'active' })
      .andWhere('points', '>=', 10)
      .orderBy([{ column: 'points', order: 'desc' }, 'customer_id'])
      .limit(25));
    await run('whereIn', knex('customers')
      .select('customer_id', 'name')
      .whereIn('customer_id', [3, 5, 8, 13, 21, 34])
      .orderBy('customer_id'));
    await run('nullable', knex('customers')
      .select('customer_id')
      .whereNull('phone')
      .orWhereNotNull('memo')
      .orderBy('customer_id')
      .limit(40)
      .offset(5));
    await run('like', knex('customers')
      .select('customer_id', 'name')
      .whereILike('email', '%example%')
      .orderBy('customer_id')
      .limit(10));
    await run('aggregate', knex('payments')
      .select('currency')
      .count({ n: '*' })
      .sum({ total: 'amount' })
      .max({ biggest: 'amount' })
      .groupBy('currency')
      .having(knex.raw('count(*) > ?', [1]))
      .orderBy('currency'));
    await run('countDistinct', knex('subscriptions').countDistinct({ customers: 'customer_id' }));
    await run('join', knex('subscriptions as s')
      .join('customers as c', 'c.customer_id', 's.customer_id')
      .select('s.subscription_id', 's.plan', 'c.name')
      .where('s.status', 'active')
      .orderBy('s.subscription_id')
      .limit(20));
    await run('first', knex('customers').where('customer_id', 1).first('name', 'status'));
  } finally {
    await knex.destroy();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`knex_legacy.js failed: ${e.stack || e}\n`);
  process.exit(1);
});
