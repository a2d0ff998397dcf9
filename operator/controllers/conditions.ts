// metav1.Condition bookkeeping: lastTransitionTime moves only when status flips, so an
// unchanged condition compares equal and causes no write.

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

export function setConditions(
  existing: Condition[] | undefined,
  wanted: ConditionInput[],
  generation: number | undefined,
  now: number,
): Condition[] {
  return wanted.map((w) => {
    const old = existing?.find((c) => c.type === w.type);
    const lastTransitionTime =
      old && old.status === w.status ? old.lastTransitionTime : new Date(now).toISOString();
    const c: Condition = { ...w, lastTransitionTime };
    if (generation !== undefined) c.observedGeneration = generation;
    return c;
  });
}

/** Deep equality of JSON-shaped values (status objects), key order ignored. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted and undefined members dropped: equal values, equal text. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
