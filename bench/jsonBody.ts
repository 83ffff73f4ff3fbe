// Micro-benchmark of the events route's body handling (issue 8, item 9): what keeping the exact
// payload text costs over the old parse-and-re-serialize, on a typical ~300-byte event and on a
// 200 KB one. Run: node --import tsx bench/jsonBody.ts
import { scanJson } from '../src/api/jsonBody.js';

const typical = JSON.stringify({
  type: 'PymtCard',
  payload: {
    transactionId: 'Pfy_FinTx-QT5RWtntI3b8M6pwtl0r', personId: 'Pfy_P-6wcqlYw6n', amount: 1250.5, currency: 'USD',
    status: 'SETTLED', merchant: { name: 'Corner Shop', mcc: '5411', city: 'Austin' }, createdTs: '2021-07-09T09:15:18.223Z', tags: ['card', 'pos'],
  },
  occurredAt: '2021-07-09T09:15:18.223Z',
});
const rows = Array.from({ length: 2200 }, (_, i) => ({ id: `row_${i}`, amount: i * 1.25, note: 'lorem ipsum dolor sit amet', ok: i % 2 === 0, n: [i, i + 1] }));
const large = JSON.stringify({ type: 'FinAccStmtCreate', payload: { rows } });

function old(body: string): number {
  const v = JSON.parse(body);
  return Buffer.byteLength(JSON.stringify(v.payload));
}
function now(body: string): number {
  JSON.parse(body);
  const s = scanJson(body, 64, true);
  return Buffer.byteLength(s.payload!);
}

function measure(label: string, fn: (b: string) => number, body: string, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 2000); i++) fn(body); // warm-up
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn(body);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / iterations / 1000);
  }
  console.log(`${label.padEnd(44)} ${best.toFixed(2).padStart(9)} µs`);
  return best;
}

console.log(`typical body ${typical.length} B (payload ${JSON.stringify(JSON.parse(typical).payload).length} B), large body ${(large.length / 1024).toFixed(0)} KB; best of 5 rounds`);
for (const [name, body, n] of [['typical', typical, 100_000], ['200 KB', large, 200]] as const) {
  const a = measure(`${name}: parse + re-serialize payload (before)`, old, body, n);
  const b = measure(`${name}: parse + scan, exact payload text (after)`, now, body, n);
  const p = measure(`${name}: JSON.parse alone`, (x) => (JSON.parse(x), 0), body, n);
  const s = measure(`${name}: scan alone`, (x) => (scanJson(x, 64, true), 0), body, n);
  console.log(`${name}: after/before ${(b / a).toFixed(2)}×; scan/parse ${(s / p).toFixed(2)}×\n`);
}
