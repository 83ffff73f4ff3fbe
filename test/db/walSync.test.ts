import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GroupCommit } from '../../src/db/groupCommit.js';
import { SqliteDb } from '../../src/db/sqlite.js';
import { WalSync } from '../../src/db/walSync.js';

// HERALD_SQLITE_SYNC=full: commits are flushed off the event loop (db/walSync.ts). What a caller
// may rely on: a resolved write is committed and its log flushed; concurrent flushes are shared;
// the group commit writes its next group while the last one's flush runs, and answers in order.
describe('SQLite commits flushed off the event loop', () => {
  let dir: string;
  let db: SqliteDb;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-walsync-'));
    db = new SqliteDb(path.join(dir, 'herald.db'), { synchronous: 'full' });
    await db.exec('CREATE TABLE items (id integer PRIMARY KEY, v text NOT NULL)');
  });
  after(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs SQLite at NORMAL and does the flush itself', async () => {
    assert.deepEqual(await db.one('PRAGMA synchronous'), { synchronous: 1 });
    assert.ok(fs.existsSync(path.join(dir, 'herald.db-wal')), 'the write-ahead log it flushes');
  });

  it('a sync before anything was committed resolves (no log yet, nothing to flush)', async () => {
    const sync = new WalSync(path.join(dir, 'no-such-db-wal'));
    await sync.sync();
    await sync.close();
  });

  it('shares flushes between concurrent callers, and each resolves', async () => {
    const sync = new WalSync(path.join(dir, 'herald.db-wal'));
    await Promise.all(Array.from({ length: 50 }, () => sync.sync()));
    await sync.close();
  });

  it('flushes started in different turns, while others run, answer in the order they started', async () => {
    const sync = new WalSync(path.join(dir, 'herald.db-wal'));
    const order: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      all.push(sync.sync().then(() => void order.push(i)));
      await new Promise((r) => setImmediate(r)); // the next turn: the flush before may still run
    }
    await Promise.all(all);
    assert.deepEqual(
      order,
      Array.from({ length: 20 }, (_, i) => i),
    );
    await sync.close();
  });

  it('a flush that fails fails its callers, and the flushes after it still answer in order', async () => {
    // A log path under a regular file: opening it fails (ENOTDIR), as a disk error would fail the flush.
    const sync = new WalSync(path.join(dir, 'herald.db', 'wal'));
    const first = sync.sync();
    await new Promise((r) => setImmediate(r));
    const second = sync.sync();
    await assert.rejects(first, { code: 'ENOTDIR' });
    await assert.rejects(second, { code: 'ENOTDIR' });
    await sync.close();
  });

  it('answers every grouped write, in order, once its commit is flushed; another process sees each', async () => {
    const writer = new GroupCommit<string, number>(db, async (q, items) => {
      const ids: number[] = [];
      for (const v of items) {
        const row = await q.one<{ id: number }>('INSERT INTO items (v) VALUES ($1) RETURNING id', [v]);
        ids.push(row!.id);
      }
      return { results: ids };
    });
    const answered: number[] = [];
    const ids = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        writer.submit(`v${i}`).then((id) => {
          answered.push(id);
          return id;
        }),
      ),
    );
    assert.equal(new Set(ids).size, 300);
    assert.deepEqual(
      answered,
      [...answered].sort((a, b) => a - b),
      'answered in commit order',
    );
    // Read by another process, as a restart would: every answered row is in the file.
    const count = spawnSync(
      process.execPath,
      [
        '-e',
        `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(path.join(dir, 'herald.db'))}, { readonly: true }); console.log(d.prepare('SELECT count(*) AS n FROM items').get().n)`,
      ],
      { cwd: process.cwd(), encoding: 'utf8' },
    );
    assert.equal(count.stdout.trim(), '300', count.stderr);
  });

  it('a statement run on its own that writes resolves after its flush; a read needs none', async () => {
    assert.equal(await db.run('INSERT INTO items (v) VALUES ($1)', ['alone']), 1);
    assert.deepEqual(await db.one('SELECT v FROM items WHERE v = $1', ['alone']), { v: 'alone' });
  });
});
