export function startEmbeddedPostgres(opts?: {
  persistent?: boolean;
}): Promise<{ url: string; stop: () => Promise<void>; start: () => Promise<void>; dir: string }>;
export function freePort(): Promise<number>;
