// One typed configuration object, read once at start from environment variables. Each setting is
// declared once, with its variable, type, default and description, in src/config/settings.ts;
// docs/configuration.md is generated from those declarations (`npm run docs:config`).
import { type Config, type Get, SETTINGS } from './config/settings.js';

export { ConfigError, DEFAULT_RETRY_SCHEDULE, parseRetrySchedule } from './config/kinds.js';
export { type Config, SETTINGS } from './config/settings.js';

/**
 * Reads every declared setting from `env`, and only those. An empty variable counts as unset (so
 * `HERALD_PORT=` in a compose file means the default). Throws a ConfigError that names the first
 * wrong variable and says what it accepts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const done: Partial<Config> = {};
  const reading = new Set<keyof Config>();
  const get: Get = (key) => {
    if (key in done) return done[key]!;
    // A setting whose default depends on another is read after it; a loop is a mistake here.
    if (reading.has(key)) throw new Error(`config settings depend on each other in a loop at ${key}`);
    reading.add(key);
    const s = SETTINGS[key];
    const given = env[s.env];
    const raw = given === undefined || given === '' ? undefined : given;
    const value = s.default !== undefined ? s.read(raw ?? s.default, s.env, get) : s.read(raw, s.env, get);
    reading.delete(key);
    return (done[key] = value);
  };
  for (const key of Object.keys(SETTINGS) as (keyof Config)[]) get(key);
  return done as Config;
}
