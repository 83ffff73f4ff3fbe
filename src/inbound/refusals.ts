// What a refused request may cost the database. Anyone who knows a source's URL can post to it
// without credentials, so what is kept of a refusal is bounded three ways: a prefix of the body,
// bounded headers, and a byte budget per source per hour (on each node). A flood of forged 1 MiB
// bodies then writes at most the budget per source per hour, whatever its rate; the refusals are
// still answered, and deleted after their own short retention (inbound/sql/retention.ts).
import { TokenBuckets } from '../tokenBuckets.js';

/** All header values of a refused request together are kept up to this many bytes (as JSON). */
export const REFUSED_HEADERS_MAX_BYTES = 4096;
/** One header value of a refused request is cut to this many characters. */
const REFUSED_HEADER_VALUE_MAX = 512;
/**
 * What a stored row costs beyond its columns (row header, id, source and tenant ids, status,
 * index entries), charged to the budget so it bounds what the database really grows by.
 */
export const REFUSED_ROW_OVERHEAD = 256;

export interface RefusedCopy {
  headers: Record<string, string>;
  /** The first bytes of the body. */
  body: Buffer;
  /** The body's whole size as it came, or null when unknown (a body too large to be read). */
  bodySize: number | null;
  /** What storing it costs, in bytes, as the budget counts it. */
  cost: number;
}

/**
 * The part of a refused request that is stored: the body's first `bodyPrefix` bytes, and headers
 * in arrival order until they fill REFUSED_HEADERS_MAX_BYTES, each value cut to 512 characters.
 * Headers left out are counted under "x-herald-headers-omitted", so the tenant knows there were more.
 */
export function refusedCopy(
  headers: Record<string, string>,
  body: Buffer,
  bodySize: number | null,
  bodyPrefix: number,
  reason: string,
): RefusedCopy {
  const kept: Record<string, string> = {};
  let used = 2; // "{}"
  let omitted = 0;
  for (const [name, raw] of Object.entries(headers)) {
    const value = raw.length > REFUSED_HEADER_VALUE_MAX ? `${raw.slice(0, REFUSED_HEADER_VALUE_MAX)}…[${raw.length} characters]` : raw;
    const size = Buffer.byteLength(JSON.stringify(name)) + Buffer.byteLength(JSON.stringify(value)) + 2;
    if (used + size > REFUSED_HEADERS_MAX_BYTES - 40) {
      omitted++;
      continue;
    }
    kept[name] = value;
    used += size;
  }
  if (omitted) kept['x-herald-headers-omitted'] = String(omitted);
  const prefix = body.subarray(0, Math.max(0, bodyPrefix));
  const cost = prefix.length + Buffer.byteLength(JSON.stringify(kept)) + Buffer.byteLength(reason) + REFUSED_ROW_OVERHEAD;
  return { headers: kept, body: prefix, bodySize, cost };
}

/**
 * Bytes of refused requests each source may store: a bucket per source holding an hour's worth,
 * refilled continuously, so a burst may use the hour's budget at once and a sustained flood gets
 * no more than the budget per hour. Per node, like the API's rate limit: N nodes store up to N
 * times the budget. 0 means no byte limit.
 */
export class RefusalBudget {
  private readonly buckets: TokenBuckets;

  constructor(bytesPerHour: number) {
    this.buckets = new TokenBuckets(bytesPerHour, 3_600_000);
  }

  /** Takes `cost` bytes from the source's budget: true when it had them (the refusal may be stored). */
  tryTake(sourceId: string, cost: number, now = Date.now()): boolean {
    return this.buckets.take(sourceId, cost, now) === 0;
  }
}
