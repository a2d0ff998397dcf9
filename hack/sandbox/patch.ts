// The three patch formats kube accepts: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902) and strategic merge patch (merge keys for lists of the built-in kinds).
// Pure functions: they return a new document and throw StatusErrors on bad patches.
import { errors } from './errors.ts';

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const clone = <T>(v: T): T => structuredClone(v);

export function jsonMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = jsonMergePatch(result[key], value);
  }
  return result;
}

/**
 * A JSON patch that does not apply (a missing path, an index out of bounds, a failed
 * test): kube answers 422 with only this generic message.
 */
const patchFailed = () => errors.patchNotApplicable();

function unescapePointer(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) {
    throw errors.badRequest(`the JSON patch path "${String(pointer)}" is not a JSON pointer`);
  }
  return pointer === '' ? [] : pointer.slice(1).split('/').map(unescapePointer);
}

function arrayIndex(arr: Json[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw errors.badRequest(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw patchFailed();
  return i;
}

/** Returns the parent container and last token of `path`, failing when it is absent. */
function locate(doc: Json, tokens: string[]): { parent: Json; last: string } {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false)];
    else if (isObject(node) && token in node) node = node[token];
    else throw patchFailed();
  }
  return { parent: node, last: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: Json, tokens: string[]): Json {
  if (tokens.length === 0) return doc;
  const { parent, last } = locate(doc, tokens);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)];
  if (isObject(parent) && last in parent) return parent[last];
  throw patchFailed();
}

function removeAt(doc: Json, tokens: string[]): Json {
  const { parent, last } = locate(doc, tokens);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0];
  if (isObject(parent) && last in parent) {
    const value = parent[last];
    delete parent[last];
    return value;
  }
  throw patchFailed();
}

function addAt(doc: Json, tokens: string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const { parent, last } = locate(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw patchFailed();
  return doc;
}

export function jsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) {
    throw errors.badRequest('the JSON patch must be an array of operations');
  }
  let doc = clone(target);
  for (const raw of patch) {
    if (!isObject(raw)) throw errors.badRequest('each JSON patch operation must be an object');
    const op = raw.op;
    const path = parsePointer(raw.path);
    switch (op) {
      case 'add':
        if (!('value' in raw)) throw errors.badRequest('add operation requires a value');
        doc = addAt(doc, path, clone(raw.value));
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'replace':
        if (!('value' in raw)) throw errors.badRequest('replace operation requires a value');
        if (path.length === 0) doc = clone(raw.value);
        else {
          removeAt(doc, path);
          doc = addAt(doc, path, clone(raw.value));
        }
        break;
      case 'move': {
        const value = removeAt(doc, parsePointer(raw.from));
        doc = addAt(doc, path, value);
        break;
      }
      case 'copy':
        doc = addAt(doc, path, clone(getAt(doc, parsePointer(raw.from))));
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(raw.value)) {
          throw patchFailed();
        }
        break;
      default:
        throw errors.badRequest(`Unexpected kind: ${String(op)}`);
    }
  }
  return doc;
}

/**
 * How a field merges in a strategic merge patch, from the patchStrategy and patchMergeKey
 * tags of kube's Go types. Lists: by `mergeKey` (objects), as a set (`{}`, primitives),
 * or replaced whole, directives and all (absent from the table: no patchStrategy, such as
 * a Node's taints). Maps merge key by key unless `replace` (patchStrategy "replace", e.g.
 * a PodDisruptionBudget's selector). Paths use dots with `[]` for list items, starting
 * below the object root.
 */
export type ListStrategies = Record<string, { mergeKey?: string; replace?: boolean }>;

/** Merge keys of a PodSpec at `prefix` ("spec" in a Pod, "spec.template.spec" in a Deployment). */
function podSpec(prefix: string): ListStrategies {
  const out: ListStrategies = {
    [`${prefix}.volumes`]: { mergeKey: 'name' },
    [`${prefix}.imagePullSecrets`]: { mergeKey: 'name' },
    [`${prefix}.hostAliases`]: { mergeKey: 'ip' },
    [`${prefix}.topologySpreadConstraints`]: { mergeKey: 'topologyKey' },
  };
  for (const list of ['containers', 'initContainers', 'ephemeralContainers']) {
    const c = `${prefix}.${list}`;
    out[c] = { mergeKey: 'name' };
    out[`${c}[].env`] = { mergeKey: 'name' };
    out[`${c}[].ports`] = { mergeKey: 'containerPort' };
    out[`${c}[].volumeMounts`] = { mergeKey: 'mountPath' };
    out[`${c}[].volumeDevices`] = { mergeKey: 'devicePath' };
  }
  return out;
}

const CONDITIONS: ListStrategies = { 'status.conditions': { mergeKey: 'type' } };

const META: ListStrategies = {
  'metadata.finalizers': {},
  'metadata.ownerReferences': { mergeKey: 'uid' },
};

/** Merge strategies of the built-in kinds, by kind. Kinds absent here merge lists atomically. */
export const STRATEGIES: Record<string, ListStrategies> = {
  Pod: {
    ...META,
    ...podSpec('spec'),
    ...CONDITIONS,
    'status.containerStatuses': { mergeKey: 'name' },
  },
  Node: {
    ...META,
    ...CONDITIONS,
    'status.addresses': { mergeKey: 'type' },
  },
  ServiceAccount: { ...META, secrets: { mergeKey: 'name' } },
  Namespace: META,
  Secret: META,
  ConfigMap: META,
  Event: META,
  Lease: META,
  Service: {
    ...META,
    'spec.ports': { mergeKey: 'port' },
    'status.conditions': { mergeKey: 'type' },
  },
  Endpoints: META,
  Deployment: { ...META, ...podSpec('spec.template.spec'), ...CONDITIONS },
  PodDisruptionBudget: { ...META, 'spec.selector': { replace: true }, ...CONDITIONS },
  Role: META,
  RoleBinding: META,
  ClusterRole: META,
  ClusterRoleBinding: META,
  PriorityClass: META,
  ValidatingWebhookConfiguration: { ...META, webhooks: { mergeKey: 'name' } },
  CustomResourceDefinition: META,
};

export function strategicMergePatch(target: Json, patch: Json, strategies: ListStrategies): Json {
  if (!isObject(patch)) throw errors.badRequest('the strategic merge patch must be a JSON object');
  return mergeMap(isObject(target) ? target : {}, patch, '', strategies);
}

function mergeMap(target: JsonObject, patch: JsonObject, path: string, s: ListStrategies): Json {
  const directive = patch.$patch;
  if (directive === 'replace') {
    const { $patch: _, ...rest } = patch;
    return clone(rest);
  }
  if (directive === 'delete') return undefined;
  const result: JsonObject = { ...target };
  const retain = patch.$retainKeys;
  const orders = new Map<string, Json[]>();
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(SET_ORDER) && Array.isArray(value))
      orders.set(key.slice(SET_ORDER.length), value);
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((v) => !value.includes(v as never));
      }
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, childPath, s, orders.get(key));
    } else if (isObject(value) && s[childPath]?.replace) {
      result[key] = clone(value);
    } else if (isObject(value)) {
      const merged = mergeMap(isObject(result[key]) ? result[key] : {}, value, childPath, s);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  // A $setElementOrder without its list only reorders what is stored.
  for (const [key, order] of orders) {
    const strategy = s[path ? `${path}.${key}` : key];
    const current = result[key];
    if (key in patch || !strategy || !Array.isArray(current)) continue;
    result[key] = normalizeOrder(current, order, current, strategy.mergeKey);
  }
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  return result;
}

const SET_ORDER = '$setElementOrder/';

/** Where `item` sits in `list`, by merge key (objects) or by value (primitives); -1 if absent. */
function indexIn(list: Json[], item: Json, key: string | undefined): number {
  if (!key) return list.indexOf(item);
  if (!isObject(item)) return -1;
  return list.findIndex((o) => isObject(o) && o[key] === item[key]);
}

/**
 * kube's normalizeElementOrder: the items the patch names, in the patch's order (its
 * $setElementOrder when it sends one), interleaved with the items only the server had, in
 * their stored order. A server-only item comes first only while it was stored before the
 * patch item it is compared with; so new items land before the server-only rest.
 */
function normalizeOrder(
  merged: Json[],
  patchOrder: Json[],
  serverOrder: Json[],
  key: string | undefined,
): Json[] {
  const inPatch = (v: Json) => indexIn(patchOrder, v, key) >= 0;
  const by = (order: Json[]) => (a: Json, b: Json) =>
    indexIn(order, a, key) - indexIn(order, b, key);
  const fromPatch = merged.filter(inPatch).sort(by(patchOrder));
  const serverOnly = merged.filter((v) => !inPatch(v)).sort(by(serverOrder));
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < fromPatch.length) {
    if (j >= fromPatch.length) out.push(serverOnly[i++]);
    else if (i >= serverOnly.length) out.push(fromPatch[j++]);
    else {
      const left = indexIn(serverOrder, serverOnly[i], key);
      const right = indexIn(serverOrder, fromPatch[j], key);
      out.push(left >= 0 && right >= 0 && left < right ? serverOnly[i++] : fromPatch[j++]);
    }
  }
  return out;
}

function mergeList(
  target: Json,
  patch: Json[],
  path: string,
  s: ListStrategies,
  setOrder?: Json[],
): Json {
  const strategy = s[path];
  // No patchStrategy: the patch's list replaces the stored one as sent.
  if (!strategy) return clone(patch);
  const current = Array.isArray(target) ? target : [];
  const key = strategy.mergeKey;
  if (!key) {
    // A set of primitives: the union, then kube's order.
    const merged = [...current];
    for (const v of patch) if (!merged.includes(v)) merged.push(clone(v));
    return normalizeOrder(merged, setOrder ?? patch, current, undefined);
  }
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) {
    return clone(patch.filter((p) => !(isObject(p) && p.$patch === 'replace')));
  }
  const deleted = patch.filter((p) => isObject(p) && p.$patch === 'delete');
  const items = patch.filter((p) => isObject(p) && p.$patch !== 'delete');
  const stored = current.filter((item) => !deleted.some((d) => indexIn([item], d, key) === 0));
  const merged = stored.map((item) => clone(item));
  const itemPath = `${path}[]`;
  for (const p of items as JsonObject[]) {
    const idx = indexIn(merged, p, key);
    if (idx >= 0) merged[idx] = mergeMap(merged[idx] as JsonObject, p, itemPath, s);
    else merged.push(mergeMap({}, p, itemPath, s));
  }
  return normalizeOrder(merged, setOrder ?? items, stored, key);
}
