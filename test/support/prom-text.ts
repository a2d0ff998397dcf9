// Reads figures out of a Prometheus text exposition (a process's /metrics), so tests and
// benchmarks measure a trustgate process from the outside, as a scraper would.

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** Every sample of metric `name` (exact name: a histogram's buckets are `<name>_bucket`). */
export function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[k as string] = v as string;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of metric `name` over all its label sets (0 when absent). */
export function total(text: string, name: string): number {
  return samples(text, name).reduce((sum, s) => sum + s.value, 0);
}

/**
 * The upper bound of the histogram bucket that holds quantile q (as Prometheus's
 * histogram_quantile, without interpolation): the figure is at most this.
 */
export function bucketQuantile(text: string, name: string, q: number): number | undefined {
  const buckets = samples(text, `${name}_bucket`)
    .map((s) => ({ le: Number(s.labels.le === '+Inf' ? Infinity : s.labels.le), n: s.value }))
    .sort((a, b) => a.le - b.le);
  const count = buckets.at(-1)?.n ?? 0;
  if (count === 0) return undefined;
  return buckets.find((b) => b.n >= q * count)?.le;
}
