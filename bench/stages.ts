// Where one delivery's time goes on Herald's main thread, by stage, read from the CPU profile that
// `BENCH_PROFILE=<dir> npm run bench` takes of Herald (node --cpu-prof). Each sample is given to
// the stage of the innermost frame on its stack that belongs to one (a SQL helper called by the
// event writer counts as commit, the same helper called by the recorder as record); samples of no
// stage (the event loop, streams, timers) are "other". Startup (loading modules) is left out.
import fs from 'node:fs';

interface Frame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export const STAGES = ['ingest', 'commit', 'handover or claim', 'sign', 'send', 'record', 'database, no stage', 'GC', 'other'] as const;
type Stage = (typeof STAGES)[number];

/** The stage a frame belongs to, or null when it only serves others (SQL helpers, node internals). */
function stageOf(f: Frame): Stage | 'startup' | null {
  const u = f.url;
  if (f.functionName === '(garbage collector)') return 'GC';
  // Loading modules, and Fastify's plugin loading (avvio), where routes compile their schemas.
  if (u.includes('node:internal/modules') || u.includes('node:internal/bootstrap') || u.includes('node_modules/avvio')) return 'startup';
  if (/delivery\/(prepare|body|signature)\.js/.test(u)) return 'sign';
  if (u.includes('delivery/send.js') || u.includes('node_modules/undici')) return 'send';
  if (u.includes('delivery/dispatcher.js')) return f.functionName === 'attempt' ? 'send' : 'handover or claim';
  if (/delivery\/(attemptRecorder|sql\/recordAttempts)\.js/.test(u)) return 'record';
  if (/delivery\/(sql\/claimDueDeliveries|endpointQueue|endpointGates|tenantShares)\.js/.test(u)) return 'handover or claim';
  if (/events\/eventWriter\.js|db\/groupCommit\.js|delivery\/sql\/insertDeliveries\.js/.test(u)) return 'commit';
  if (
    /\/api\/|node_modules\/(fastify|ajv|fast-json-stringify|find-my-way|avvio|light-my-request)|node:_http_(server|common|incoming|outgoing)/.test(
      u,
    )
  )
    return 'ingest';
  return null;
}

/** The database adapter's own frames: the stage of their caller, when one is on the stack. */
const isDatabase = (f: Frame) => /db\/(sqlite|postgres|sql)\.js|node_modules\/pg|node:internal\/worker/.test(f.url);

/** Busy milliseconds by stage, and the whole, from one profile. */
export function stageTimes(file: string): { byStage: Map<Stage, number>; busyMs: number } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Per node: the stage of the innermost frame with one, else whether a database frame is on the
  // stack (its work, called from the event loop: answers arriving, statements sent), else nothing.
  const memo = new Map<number, Stage | 'startup' | 'idle' | 'db' | null>();
  const walk = (id: number): Stage | 'startup' | 'idle' | 'db' | null => {
    if (memo.has(id)) return memo.get(id)!;
    const n = byId.get(id)!;
    const up = parent.get(id);
    const above = up === undefined ? null : walk(up);
    let s: Stage | 'startup' | 'idle' | 'db' | null;
    if (n.callFrame.functionName === '(idle)') s = 'idle';
    // Whatever startup calls is startup: schema compilers would otherwise count as ingest.
    else if (above === 'startup') s = 'startup';
    else s = stageOf(n.callFrame) ?? (above === 'db' || above === null ? (isDatabase(n.callFrame) ? 'db' : above) : above);
    memo.set(id, s);
    return s;
  };
  const stageOfNode = (id: number): Stage | 'startup' | 'idle' => {
    const s = walk(id);
    return s === 'db' ? 'database, no stage' : (s ?? 'other');
  };
  const byStage = new Map<Stage, number>(STAGES.map((s) => [s, 0]));
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const s = stageOfNode(p.samples[i]);
    if (s === 'idle' || s === 'startup') continue;
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    byStage.set(s, byStage.get(s)! + ms);
    busy += ms;
  }
  return { byStage, busyMs: busy };
}

/** Prints the stage table: µs of main-thread time per delivery, and each stage's share. */
export function printStages(file: string, deliveries: number): void {
  const { byStage, busyMs } = stageTimes(file);
  console.log(`\nOne delivery's main-thread time by stage (CPU profile ${file}; ${deliveries} deliveries, startup left out)`);
  console.log(`${'stage'.padEnd(24)} ${'µs'.padStart(8)} ${'share'.padStart(8)}`);
  for (const s of STAGES) {
    const ms = byStage.get(s)!;
    console.log(`${s.padEnd(24)} ${((ms * 1000) / deliveries).toFixed(0).padStart(8)} ${((100 * ms) / busyMs).toFixed(0).padStart(7)}%`);
  }
  console.log(`${'all'.padEnd(24)} ${((busyMs * 1000) / deliveries).toFixed(0).padStart(8)} ${'100'.padStart(7)}%`);
}
