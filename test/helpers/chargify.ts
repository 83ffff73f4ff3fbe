/** A Chargify webhook body, form-encoded the way Chargify sends it. */
export function chargifyBody(id: number, event: string, payload: Record<string, string | number>): string {
  return [
    `id=${id}`,
    `event=${event}`,
    ...Object.entries(payload).map(
      ([k, v]) =>
        `payload${k
          .split('.')
          .map((p) => `[${p}]`)
          .join('')}=${encodeURIComponent(String(v))}`,
    ),
  ].join('&');
}
