// LIST with selectors and limit/continue paging. A paged list reads from a snapshot taken
// on its first page, so every page belongs to one consistent resourceVersion like etcd's.
import { errors } from './errors.ts';
import {
  type FieldRequirement,
  type LabelSelector,
  matchesFields,
  matchesLabels,
} from './selectors.ts';
import type { Entry, Store } from './store.ts';

interface Snapshot {
  entries: Entry[];
  rv: number;
  created: number;
}

export interface ListRequest {
  resourceKey: string;
  namespace: string | undefined;
  labels: LabelSelector;
  fields: FieldRequirement[];
  limit: number | undefined;
  continueToken: string | undefined;
}

export interface ListPage {
  entries: Entry[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

const SNAPSHOT_TTL_MS = 5 * 60_000;
const MAX_SNAPSHOTS = 64;

export class Lister {
  private readonly store: Store;
  private readonly snapshots = new Map<string, Snapshot>();
  private nextId = 1;

  constructor(store: Store) {
    this.store = store;
  }

  list(r: ListRequest): ListPage {
    let entries: Entry[];
    let offset = 0;
    let rv: number;
    let id: string;
    if (r.continueToken) {
      const token = decodeToken(r.continueToken);
      const snap = this.snapshots.get(token.id);
      if (!snap || Date.now() - snap.created > SNAPSHOT_TTL_MS) {
        throw errors.expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from the response to start a new list from the most recent resource version.',
        );
      }
      ({ entries, rv } = snap);
      offset = token.offset;
      id = token.id;
    } else {
      entries = this.store.list(r.resourceKey, r.namespace);
      rv = this.store.currentRV;
      id = '';
    }
    const filtered = r.labels.length > 0 || r.fields.length > 0;
    const match = (e: Entry) =>
      matchesLabels(r.labels, e.labels) && matchesFields(r.fields, e.fields);
    const limit = r.limit && r.limit > 0 ? r.limit : Number.POSITIVE_INFINITY;
    const out: Entry[] = [];
    let i = offset;
    for (; i < entries.length && out.length < limit; i++) {
      const e = entries[i] as Entry;
      if (!filtered || match(e)) out.push(e);
    }
    // Only hand out a continue token when something matching may remain.
    let more = false;
    for (let j = i; j < entries.length; j++) {
      if (!filtered || match(entries[j] as Entry)) {
        more = true;
        break;
      }
    }
    const page: ListPage = { entries: out, resourceVersion: String(rv) };
    if (more) {
      if (!id) id = this.keep({ entries: entries.slice(), rv, created: Date.now() });
      page.continueToken = encodeToken(id, i);
      if (!filtered) page.remainingItemCount = entries.length - i;
    }
    return page;
  }

  private keep(snapshot: Snapshot): string {
    const id = String(this.nextId++);
    this.snapshots.set(id, snapshot);
    for (const [key, s] of this.snapshots) {
      if (this.snapshots.size <= MAX_SNAPSHOTS && Date.now() - s.created <= SNAPSHOT_TTL_MS) break;
      this.snapshots.delete(key);
    }
    return id;
  }
}

function encodeToken(id: string, offset: number): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', id, offset })).toString('base64url');
}

function decodeToken(token: string): { id: string; offset: number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      id?: unknown;
      offset?: unknown;
    };
    if (typeof parsed.id === 'string' && typeof parsed.offset === 'number') {
      return { id: parsed.id, offset: parsed.offset };
    }
  } catch {
    // fall through to the error below
  }
  throw errors.badRequest(`continue key is not valid: ${token}`);
}
