// Time helpers shared by the decision code: everything inside is epoch milliseconds.

/** A point in time as epoch milliseconds; callers may pass a Date. */
export type Instant = Date | number;

export function toMillis(t: Instant): number {
  return typeof t === 'number' ? t : t.getTime();
}

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses a Go-style duration as the CRDs write them ("90s", "5m", "1h30m"); undefined if invalid. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART_RE)) {
    total += Number(amount) * (DURATION_UNIT_MS[unit as string] as number);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp; undefined if it is not one. */
export function parseTimestamp(text: unknown): number | undefined {
  if (typeof text !== 'string' || !RFC3339_RE.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
