// Small helpers shared by the sandbox modules.
import { randomBytes, randomUUID } from 'node:crypto';

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ka = Object.keys(a as object).filter(
    (k) => (a as Record<string, unknown>)[k] !== undefined,
  );
  const kb = Object.keys(b as object).filter(
    (k) => (b as Record<string, unknown>)[k] !== undefined,
  );
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** kube's generateName suffix: 5 characters from a vowel-free alphabet. */
export function randomSuffix(n = 5): string {
  const bytes = randomBytes(n);
  return [...bytes].map((b) => ALPHANUMS[b % ALPHANUMS.length]).join('');
}

export const newUID = () => randomUUID();

/** RFC 3339 with second precision, as kube serializes metav1.Time. */
export const nowRFC3339 = (ms = Date.now()) =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
