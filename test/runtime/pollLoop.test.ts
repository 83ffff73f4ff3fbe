import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { PollLoop } from '../../src/runtime/pollLoop.js';

// The one poll loop the delivery worker, the inbound processor and maintenance run on. Its
// rounds here are plain functions: what the loop decides (when to run the next round, what to do
// when one fails, when stop() returns) does not depend on what a round does.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds (at most 2 s): for what must happen, without betting on a busy machine's timing. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 2000; !cond(); await sleep(5)) if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
}

/** A real logger writing into an array. */
function captureLog() {
  const lines: { level: number; msg: string; failures?: number; retryInMs?: number; err?: { message: string } }[] = [];
  const log = pino({ level: 'info', base: undefined }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('the poll loop', () => {
  it('goes from idle to running to stopping to stopped, and stop() waits for the round in progress', async () => {
    const { log } = captureLog();
    let release!: () => void;
    let rounds = 0;
    let finished = 0;
    const loop = new PollLoop(
      async () => {
        rounds++;
        await new Promise<void>((r) => (release = r));
        finished++;
        return false;
      },
      { what: 'a test round', intervalMs: 10_000, log },
    );
    assert.equal(loop.state, 'idle');
    loop.start();
    assert.equal(loop.state, 'running');
    assert.throws(() => loop.start(), /starts once/);
    await until(() => rounds === 1, 'the first round, at start');
    const stopped = loop.stop();
    assert.equal(loop.state, 'stopping');
    assert.equal(loop.stopping, true);
    await sleep(20);
    assert.equal(finished, 0, 'stop() is still waiting for the round');
    release();
    await stopped;
    assert.equal(loop.state, 'stopped');
    assert.equal(finished, 1);
    assert.equal(rounds, 1, 'no round after stop()');
  });

  it('a loop never started stops at once; its step can still be called directly', async () => {
    const { log } = captureLog();
    let rounds = 0;
    const step = async () => (rounds++, false);
    const loop = new PollLoop(step, { what: 'a test round', intervalMs: 10, log });
    await step();
    assert.equal(rounds, 1);
    await loop.stop();
    assert.equal(loop.state, 'stopped');
    await sleep(30);
    assert.equal(rounds, 1);
  });

  it('runs again at once after a round that found work, and sleeps the interval after one that found none', async () => {
    const { log } = captureLog();
    const at: number[] = [];
    let work = 3;
    const loop = new PollLoop(async () => (at.push(Date.now()), work-- > 0), { what: 'a test round', intervalMs: 300, log });
    const t0 = Date.now();
    loop.start();
    await until(() => at.length === 4, 'three rounds with work, then one that found none');
    assert.ok(at[3] - t0 < 150, 'one after the other');
    await until(() => at.length === 5, 'the next round, after the interval');
    assert.ok(at[4] - at[3] >= 295, `slept ${at[4] - at[3]} ms`);
    await loop.stop();
  });

  it('wake() ends the pause at once; a wake() during a round is not lost', async () => {
    const { log } = captureLog();
    let rounds = 0;
    let inRound: (() => void) | null = null;
    const loop = new PollLoop(
      async () => {
        rounds++;
        if (rounds === 2) await new Promise<void>((r) => (inRound = r));
        return false;
      },
      { what: 'a test round', intervalMs: 60_000, log },
    );
    loop.start();
    await until(() => rounds === 1, 'the first round');
    loop.wake();
    await until(() => rounds === 2, 'the second round, woken, without waiting a minute');
    loop.wake(); // announced while the second round is still running
    inRound!();
    await until(() => rounds === 3, 'a third round for the wake() announced mid-round');
    await loop.stop();
  });

  it('with drain off, a round that found work is followed by the next only after the interval', async () => {
    const { log } = captureLog();
    const at: number[] = [];
    const loop = new PollLoop(async () => (at.push(Date.now()), true), { what: 'a test round', intervalMs: 200, log, drain: false });
    loop.start();
    await until(() => at.length === 2, 'two rounds');
    assert.ok(at[1] - at[0] >= 195, `the second came ${at[1] - at[0]} ms after the first`);
    await loop.stop();
  });

  it('rests as long as restAfterWork says after a round that found work, given how long the round took; wake() does not cut it short', async () => {
    const { log } = captureLog();
    const at: number[] = [];
    const took: number[] = [];
    const loop = new PollLoop(
      async () => {
        at.push(Date.now());
        await sleep(40);
        return true;
      },
      {
        what: 'a test round',
        intervalMs: 60_000,
        log,
        restAfterWork: (ms) => (took.push(ms), took.length === 1 ? 3 * ms : 0),
      },
    );
    loop.start();
    await until(() => at.length === 1, 'the first round');
    loop.wake();
    await until(() => at.length === 3, 'three rounds');
    await loop.stop();
    assert.ok(took[0] >= 39, `the round took ${took[0]} ms as measured`);
    assert.ok(at[1] - at[0] >= 40 + 3 * 39, `rested after the first round: the second came ${at[1] - at[0]} ms after it`);
    assert.ok(at[2] - at[1] < at[1] - at[0] - 60, 'no rest after the second');
  });

  it('logs a failed round and waits longer after each failure in a row, whatever wake() says; a success resets it', async () => {
    const { log, lines } = captureLog();
    const at: number[] = [];
    let failing = 3;
    const loop = new PollLoop(
      async () => {
        at.push(Date.now());
        if (failing-- > 0) throw new Error('the database is down');
        return false;
      },
      { what: 'claiming test work', intervalMs: 40, log, maxBackoffMs: 120 },
    );
    loop.start();
    const waking = setInterval(() => loop.wake(), 5);
    await until(() => at.length >= 4, 'three failed rounds and a successful one');
    clearInterval(waking);
    const gaps = at.slice(1, 4).map((t, i) => t - at[i]);
    // 40, 80, then 120 (the cap): a wake() every 5 ms cut none of them short.
    assert.ok(gaps[0] >= 38 && gaps[1] >= 78 && gaps[2] >= 118, `pauses after failures: ${gaps}`);
    const errors = lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 3);
    assert.deepEqual(
      errors.map((e) => [e.failures, e.retryInMs]),
      [
        [1, 40],
        [2, 80],
        [3, 120],
      ],
    );
    assert.equal(errors[0].msg, 'claiming test work failed; trying again in 40 ms');
    assert.equal(errors[0].err?.message, 'the database is down');
    // After the success, wakes run rounds at once again.
    const before = at.length;
    loop.wake();
    await until(() => at.length === before + 1, 'a round woken at once after the success');
    await loop.stop();
  });

  it('stop() ends a pause after a failure at once', async () => {
    const { log } = captureLog();
    const loop = new PollLoop(
      async () => {
        throw new Error('down');
      },
      { what: 'a test round', intervalMs: 60_000, log },
    );
    loop.start();
    await sleep(50);
    const t0 = Date.now();
    await loop.stop();
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(loop.state, 'stopped');
  });
});
