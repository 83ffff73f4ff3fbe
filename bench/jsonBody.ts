// Micro-benchmark of the events route's body handling (issue 8, item 9): what keeping the exact
// payload text costs over the old parse-and-re-serialize, on a typical ~300-byte event and on a
// 200 KB one. Run: node --import tsx bench/jsonBody.ts
import { scanJson } from '../src/api/jsonBody.js';

const typical = JSON.stringify({
  type: 'PymtCard',
  payload: {
    transactionId: 'Pfy_FinTx-QT5RWtntI3b8M6pwtl0r',
    personId: 'Pfy_P-6wcqlYw6n',
    amount: 1250.5,
    currency: 'USD',
    status: 'SETTLED',
    merchant: { name: 'Corner Shop', mcc: '5411', city: 'Austin' },
    createdTs: '2021-07-09T09:15:18.223Z',
    tags: ['card', 'pos'],
  },
  occurredAt: '2021-07-09T09:15:18.223Z',
});
const rows = Array.from({ length: 2200 }, (_, i) => ({
  id: `row_${i}`,
  amount: i * 1.25,
  note: 'lorem ipsum dolor sit amet',
  ok: i % 2 === 0,
  n: [i, i + 1],
}));
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

/** Median µs per call over 15 rounds; the variants of one body take turns, so drift hits them alike. */
function compare(name: string, body: string, iterations: number, variants: [string, (b: string) => unknown][]): number[] {
  for (const [, fn] of variants) for (let i = 0; i < Math.min(iterations, 2000); i++) fn(body); // warm-up
  const times: number[][] = variants.map(() => []);
  for (let round = 0; round < 15; round++) {
    variants.forEach(([, fn], v) => {
      const t = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) fn(body);
      times[v].push(Number(process.hrtime.bigint() - t) / iterations / 1000);
    });
  }
  const medians = times.map((ts) => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)]);
  variants.forEach(([label], v) => console.log(`${name}: ${label.padEnd(40)} ${medians[v].toFixed(2).padStart(9)} µs`));
  return medians;
}

console.log(`typical body ${typical.length} B, large body ${(large.length / 1024).toFixed(0)} KB; median of 15 rounds`);
for (const [name, body, n] of [
  ['typical', typical, 50_000],
  ['200 KB', large, 100],
] as const) {
  const [before, after, parse, scan] = compare(name, body, n, [
    ['parse + re-serialize payload (before)', old],
    ['parse + scan, exact payload text (after)', now],
    ['JSON.parse alone', (x) => JSON.parse(x)],
    ['scan alone', (x) => scanJson(x, 64, true)],
  ]);
  console.log(
    `${name}: after − before ${(after - before).toFixed(2)} µs (${(after / before).toFixed(2)}×); scan / JSON.parse ${(scan / parse).toFixed(2)}×\n`,
  );
}
