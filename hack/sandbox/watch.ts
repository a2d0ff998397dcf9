// Streams a watch as JSON lines of {type, object}: replay from a resourceVersion (or the
// current state as ADDED events), selector-aware ADDED/MODIFIED/DELETED translation,
// BOOKMARKs on request, a 410 ERROR event when the history no longer reaches back.
import type { ServerResponse } from 'node:http';
import { errors } from './errors.ts';
import {
  type FieldRequirement,
  type LabelSelector,
  matchesFields,
  matchesLabels,
} from './selectors.ts';
import type { Entry, Store, StoreEvent } from './store.ts';

export interface WatchRequest {
  resourceKey: string;
  kind: string;
  apiVersion: string;
  namespace: string | undefined;
  labels: LabelSelector;
  fields: FieldRequirement[];
  /** undefined or "0": start with the current state; otherwise resume after it. */
  resourceVersion: string | undefined;
  timeoutSeconds: number;
  bookmarks: boolean;
  /** sendInitialEvents=true: the current state, then (bookmarks allowed) a bookmark marking its end. */
  initialEvents: boolean;
  /** Renders an event's object (pre-serialized JSON) for the wire, e.g. as a Table. */
  render?: (json: string, first: boolean) => string;
}

/** kube's watch cache sends a watcher a bookmark about every minute... */
const BOOKMARK_FREQUENCY_MS = 60_000;
/** ...and one this long before the watch's timeout, so a client resumes from a fresh version. */
const BOOKMARK_BEFORE_TIMEOUT_MS = 2_000;

/** Keeps the sandbox from buffering without bound for a client that stopped reading. */
const MAX_BUFFERED = 64 * 1024 * 1024;

export function serveWatch(store: Store, res: ServerResponse, w: WatchRequest): void {
  let fromRV: number | undefined;
  if (
    !w.initialEvents &&
    w.resourceVersion !== undefined &&
    w.resourceVersion !== '' &&
    w.resourceVersion !== '0'
  ) {
    fromRV = Number(w.resourceVersion);
    if (!Number.isSafeInteger(fromRV) || fromRV < 0) {
      throw errors.badRequest(`invalid resource version: ${w.resourceVersion}`);
    }
  }
  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'no-cache, private',
    'transfer-encoding': 'chunked',
  });
  res.flushHeaders();
  let first = true;
  let closed = false;
  const matches = (e: Entry | undefined) =>
    e !== undefined &&
    (w.namespace === undefined || e.namespace === w.namespace) &&
    matchesLabels(w.labels, e.labels) &&
    matchesFields(w.fields, e.fields);
  const send = (type: string, json: string) => {
    if (closed) return;
    const object = w.render ? w.render(json, first) : json;
    first = false;
    res.write(`{"type":"${type}","object":${object}}\n`);
    if (res.writableLength > MAX_BUFFERED) finish();
  };
  const bookmark = (initialEventsEnd = false) =>
    send(
      'BOOKMARK',
      JSON.stringify({
        kind: w.kind,
        apiVersion: w.apiVersion,
        metadata: {
          resourceVersion: String(store.currentRV),
          creationTimestamp: null,
          ...(initialEventsEnd ? { annotations: initialEventsEndAnnotations(w) } : {}),
        },
      }),
    );
  const onEvent = (event: StoreEvent) => {
    const now = matches(event.entry);
    const before = event.type === 'ADDED' ? false : matches(event.prev);
    if (event.type === 'DELETED') {
      if (before) send('DELETED', event.entry.json);
    } else if (now && before) send('MODIFIED', event.entry.json);
    else if (now) send('ADDED', event.entry.json);
    else if (before) send('DELETED', event.entry.json);
  };
  if (fromRV === undefined) {
    for (const e of store.list(w.resourceKey, w.namespace)) if (matches(e)) send('ADDED', e.json);
    if (w.initialEvents && w.bookmarks) bookmark(true);
  }
  const unsubscribe = store.subscribe(w.resourceKey, fromRV, onEvent);
  if (!unsubscribe) {
    const status = errors
      .expired(`too old resource version: ${fromRV} (${store.currentRV})`)
      .toStatus();
    res.end(`{"type":"ERROR","object":${JSON.stringify(status)}}\n`);
    return;
  }
  const timers: NodeJS.Timeout[] = [];
  function finish() {
    if (closed) return;
    closed = true;
    unsubscribe?.();
    for (const t of timers) clearTimeout(t);
    res.end();
  }
  const deadline = Date.now() + w.timeoutSeconds * 1000;
  timers.push(setTimeout(finish, w.timeoutSeconds * 1000));
  // kube's cacheWatcher.nextBookmarkTime: a minute from now, or 2 s before the deadline if
  // that comes first; none once that moment has passed.
  const scheduleBookmark = () => {
    const now = Date.now();
    const at = Math.min(now + BOOKMARK_FREQUENCY_MS, deadline - BOOKMARK_BEFORE_TIMEOUT_MS);
    if (at <= now) return;
    timers.push(
      setTimeout(() => {
        bookmark();
        scheduleBookmark();
      }, at - now),
    );
  };
  if (w.bookmarks) scheduleBookmark();
  res.on('close', () => {
    closed = true;
    unsubscribe?.();
    for (const t of timers) clearTimeout(t);
  });
}

/**
 * The annotations of the bookmark that ends a watch-list's initial events: the marker, and
 * (kube 1.33+) the blueprint of the list it stands for, base64 JSON as Go encodes it.
 */
function initialEventsEndAnnotations(w: WatchRequest): Record<string, string> {
  const blueprint = `${JSON.stringify({ kind: `${w.kind}List`, apiVersion: w.apiVersion, metadata: {}, items: null })}\n`;
  return {
    'k8s.io/initial-events-end': 'true',
    'kubernetes.io/initial-events-list-blueprint': Buffer.from(blueprint).toString('base64'),
  };
}
