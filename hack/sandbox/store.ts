// The in-memory object store: one bucket per resource, objects kept as their JSON text
// (compact, and lists/watch events are built by concatenation), one global monotonically
// increasing resourceVersion, and a bounded per-resource event history for watch resume.

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One stored object: its serialized form plus what selectors need without parsing. */
export interface Entry {
  key: string;
  namespace: string;
  name: string;
  rv: number;
  json: string;
  labels: Record<string, string> | undefined;
  /** Values of the selectable fields (metadata.name, spec.nodeName, ...). */
  fields: Record<string, string>;
}

export interface StoreEvent {
  type: EventType;
  rv: number;
  entry: Entry;
  /** The state before a MODIFIED event, so selector watches can see objects leave. */
  prev: Entry | undefined;
}

export type Listener = (event: StoreEvent) => void;

export const entryKey = (namespace: string, name: string) =>
  namespace ? `${namespace}/${name}` : name;

/** Binary search in entries sorted by key; -1 when absent. */
function indexOfKey(sorted: Entry[], key: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const k = (sorted[mid] as Entry).key;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

class Bucket {
  readonly entries = new Map<string, Entry>();
  sorted: Entry[] | null = null;
  readonly history: StoreEvent[] = [];
  historyStart = 0; // index of the oldest event in the ring
  /** Every event with rv > floor is still in the history. */
  floor: number;
  readonly listeners = new Set<Listener>();
  constructor(floor: number) {
    this.floor = floor;
  }
}

export interface StoreOptions {
  /** Events kept per resource for watch resume; older resourceVersions get 410. */
  historySize?: number;
}

export class Store {
  private rv = 1;
  private readonly buckets = new Map<string, Bucket>();
  private readonly historySize: number;

  constructor(opts: StoreOptions = {}) {
    this.historySize = opts.historySize ?? 20_000;
  }

  get currentRV(): number {
    return this.rv;
  }

  nextRV(): number {
    this.rv += 1;
    return this.rv;
  }

  private bucket(resource: string): Bucket {
    let b = this.buckets.get(resource);
    if (!b) {
      b = new Bucket(this.rv);
      this.buckets.set(resource, b);
    }
    return b;
  }

  get(resource: string, namespace: string, name: string): Entry | undefined {
    return this.buckets.get(resource)?.entries.get(entryKey(namespace, name));
  }

  /** All entries sorted by key (namespace/name), optionally within one namespace. */
  list(resource: string, namespace?: string): Entry[] {
    const b = this.buckets.get(resource);
    if (!b) return [];
    if (!b.sorted) {
      b.sorted = [...b.entries.values()].sort((x, y) =>
        x.key < y.key ? -1 : x.key > y.key ? 1 : 0,
      );
    }
    return namespace ? b.sorted.filter((e) => e.namespace === namespace) : b.sorted;
  }

  count(resource: string): number {
    return this.buckets.get(resource)?.entries.size ?? 0;
  }

  /** Stores `entry` (its rv must come from nextRV) and notifies watchers. */
  put(resource: string, entry: Entry): void {
    const b = this.bucket(resource);
    const prev = b.entries.get(entry.key);
    b.entries.set(entry.key, entry);
    if (prev) {
      if (b.sorted) {
        const i = indexOfKey(b.sorted, entry.key);
        if (i >= 0) b.sorted[i] = entry;
        else b.sorted = null;
      }
    } else b.sorted = null;
    this.emit(b, { type: prev ? 'MODIFIED' : 'ADDED', rv: entry.rv, entry, prev });
  }

  /** Removes an object; `final` is its last state carrying the deletion's rv. */
  remove(resource: string, final: Entry): void {
    const b = this.bucket(resource);
    const prev = b.entries.get(final.key);
    if (!prev) return;
    b.entries.delete(final.key);
    b.sorted = null;
    this.emit(b, { type: 'DELETED', rv: final.rv, entry: final, prev });
  }

  /** Forgets a whole resource (a deleted CRD) without events. */
  drop(resource: string): void {
    this.buckets.delete(resource);
  }

  private emit(b: Bucket, event: StoreEvent): void {
    b.history.push(event);
    if (b.history.length - b.historyStart > this.historySize) {
      const evicted = b.history[b.historyStart];
      b.historyStart += 1;
      if (evicted) b.floor = evicted.rv;
      // Compact the ring occasionally so the array does not grow without bound.
      if (b.historyStart > this.historySize) {
        b.history.splice(0, b.historyStart);
        b.historyStart = 0;
      }
    }
    for (const listener of b.listeners) listener(event);
  }

  /**
   * Replays events after `fromRV` and then delivers new ones. Returns null when `fromRV`
   * is older than the history (the caller answers 410 Expired), else an unsubscribe.
   */
  subscribe(resource: string, fromRV: number | undefined, listener: Listener): (() => void) | null {
    const b = this.bucket(resource);
    if (fromRV !== undefined) {
      if (fromRV < b.floor) return null;
      for (let i = b.historyStart; i < b.history.length; i++) {
        const event = b.history[i];
        if (event && event.rv > fromRV) listener(event);
      }
    }
    b.listeners.add(listener);
    return () => b.listeners.delete(listener);
  }
}
