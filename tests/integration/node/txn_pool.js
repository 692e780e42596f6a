// node-postgres under transaction pooling. Run by tests/integration/test_transaction_pooling.py:
//   node txn_pool.js <connection string> <scratch table> <clients> <transactions per client> <active>
// Connects every client (in waves of 100 connection attempts), and only once all are connected
// runs them all: each does <transactions> transactions of named (server-prepared) queries — the
// same names in every client, and one name ('mine') whose text differs per client — then one
// transaction that fails on purpose and is rolled back. At most <active> clients are inside a
// transaction at once; the others wait between their transactions, connected and idle.
// Prints one JSON object with counts; the pytest test checks them and the rows left in the table.
'use strict';

const { Client } = require('pg');

const WAVE = 100;
const MAX_ERRORS_SHOWN = 10;

async function main() {
  const [url, table, nClientsArg, nTxnsArg, activeArg] = process.argv.slice(2);
  const nClients = Number(nClientsArg);
  const nTxns = Number(nTxnsArg);
  let slots = Number(activeArg || nClients);
  const waiting = [];
  const acquire = () => (slots > 0 ? (slots--, Promise.resolve()) : new Promise((r) => waiting.push(r)));
  const release = () => { const next = waiting.shift(); if (next) next(); else slots++; };
  const out = {
    clients: nClients,
    connected: 0,
    transactions: 0,
    expectedErrors: 0,
    errors: 0,
    firstErrors: [],
    pidMismatches: 0,
    echoMismatches: 0,
    mineMismatches: 0,
    clientsOnSeveralUpstreams: 0,
    afterErrorOk: 0,
  };
  const fail = (where, e) => {
    out.errors += 1;
    if (out.firstErrors.length < MAX_ERRORS_SHOWN) {
      out.firstErrors.push(`${where}: ${e && e.code ? e.code + ' ' : ''}${e && e.message ? e.message : e}`);
    }
  };

  const clients = new Array(nClients).fill(null);
  for (let start = 0; start < nClients; start += WAVE) {
    const wave = [];
    for (let i = start; i < Math.min(nClients, start + WAVE); i++) {
      wave.push((async () => {
        const c = new Client({ connectionString: url, ssl: false, connectionTimeoutMillis: 30000 });
        c.on('error', (e) => fail(`client ${i} async`, e));
        try {
          await c.connect();
          clients[i] = c;
          out.connected += 1;
        } catch (e) {
          fail(`connect ${i}`, e);
        }
      })());
    }
    await Promise.all(wave);
  }

  const pidQ = { name: 'pid', text: 'SELECT pg_backend_pid() AS pid' };
  const insQ = { name: 'ins', text: `INSERT INTO ${table} (id, v) VALUES ($1, $2)` };
  const echoQ = { name: 'echo', text: 'SELECT $1::int AS n, $2::text AS s' };
  const divQ = { name: 'div', text: 'SELECT 1 / $1::int AS q' };

  async function work(i, c) {
    const mineQ = { name: 'mine', text: `SELECT ${i}::int AS me` };
    const seen = new Set();
    for (let t = 0; t < nTxns; t++) {
      const id = i * 100 + t;
      await acquire();
      try {
        await c.query('BEGIN');
        const p1 = (await c.query(pidQ)).rows[0].pid;
        await c.query({ ...insQ, values: [id, `node-${i}`] });
        const e = (await c.query({ ...echoQ, values: [id, `e${i}`] })).rows[0];
        if (e.n !== id || e.s !== `e${i}`) out.echoMismatches += 1;
        if ((await c.query(mineQ)).rows[0].me !== i) out.mineMismatches += 1;
        const p2 = (await c.query(pidQ)).rows[0].pid;
        if (p1 !== p2) out.pidMismatches += 1;
        await c.query('COMMIT');
        seen.add(p1);
        out.transactions += 1;
      } catch (e) {
        fail(`client ${i} txn ${t}`, e);
        try { await c.query('ROLLBACK'); } catch (_) { /* reported above */ }
      } finally {
        release();
      }
    }
    if (seen.size > 1) out.clientsOnSeveralUpstreams += 1;
    // A transaction that fails: its insert must not survive, the client must recover.
    await acquire();
    try {
      await c.query('BEGIN');
      await c.query({ ...insQ, values: [i * 100 + 99, 'rolled back'] });
      try {
        await c.query({ ...divQ, values: [0] });
        fail(`client ${i} division`, 'no error for 1/0');
      } catch (e) {
        if (e.code === '22012') out.expectedErrors += 1;
        else fail(`client ${i} division`, e);
      }
      await c.query('ROLLBACK');
      const e = (await c.query({ ...echoQ, values: [i, 'after'] })).rows[0];
      const q = (await c.query({ ...divQ, values: [1] })).rows[0].q;
      if (e.n === i && e.s === 'after' && q === 1) out.afterErrorOk += 1;
      else fail(`client ${i} after error`, JSON.stringify([e, q]));
    } catch (e) {
      fail(`client ${i} error transaction`, e);
    } finally {
      release();
    }
  }

  await Promise.all(clients.map((c, i) => (c ? work(i, c) : null)));
  await Promise.all(clients.map(async (c, i) => {
    if (!c) return;
    try { await c.end(); } catch (e) { fail(`end ${i}`, e); }
  }));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`node txn_pool failed: ${e.stack || e}\n`);
  process.exit(1);
});
