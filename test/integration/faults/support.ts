// Shared by the fault tests: a pool of nodes running governed pods, `trustgate run` behind
// a fault proxy, and the invariants every fault test ends with. Actions are counted at
// the wire (the proxy's request log), not from trustgate's own metrics: a revocation the
// process thinks it sent but the API server never applied, or applied twice, shows there.
import { afterAll, beforeAll, expect } from '@jest/globals';
import {
  type FaultProxy,
  type RecordedRequest,
  startFaultProxy,
} from '../../support/fault-proxy.ts';
import type { TrustgateProcess, TrustgateProcessOptions } from '../../support/trustgate-process.ts';
import {
  attest,
  createGrant,
  createNode,
  createPod,
  createPolicy,
  createServiceAccount,
  type Env,
  getNode,
  type NodeView,
  policyObject,
  setup,
  startReplica,
  untrustedTaint,
  waitFor,
} from '../operator/harness.ts';

export interface Pool {
  policy: string;
  nodes: string[];
  pods: Map<string, string[]>;
}

/** Runs `work` over `items`, `width` at a time (a 2-core machine, a real API server). */
async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += width) {
    await Promise.all(items.slice(i, i + width).map(work));
  }
}

/**
 * A policy over `nodeCount` attested nodes, each running `podsPerNode` pods of one granted
 * service account. Resolves once trustgate has labelled every node trusted.
 */
export async function createPool(
  env: Env,
  name: string,
  nodeCount: number,
  podsPerNode: number,
  opts: { maxAge?: string } = {},
): Promise<Pool> {
  const policy = `p-${env.id}-${name}`;
  await createPolicy(env, policyObject(env, policy, { maxAge: opts.maxAge }));
  await createServiceAccount(env, name);
  await createGrant(env, name, name, policy);
  const nodes = Array.from({ length: nodeCount }, (_, i) => `${policy}-n${i}`);
  const pods = new Map(
    nodes.map((n, i) => [n, Array.from({ length: podsPerNode }, (_, j) => `${name}-${i}-${j}`)]),
  );
  await inBatches(nodes, 10, async (node) => {
    await createNode(env, node, policy);
    await attest(env, node);
    for (const pod of pods.get(node) ?? []) await createPod(env, pod, node, name);
  });
  await waitFor(
    async () => (await labelled(env, pool(policy, nodes, pods), 'true')) === nodes.length,
    `${nodes.length} nodes of ${policy} labelled trusted`,
    45_000,
  );
  // trustgate's pod cache lags its node and attestation caches by a moment (more so right
  // after an API server restart); a drift before it holds the pods would find none to
  // remove. Its PolicyReport naming every pod shows the cache has them.
  const names = [...pods.values()].flat();
  const report = `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${env.ns}/policyreports/trustgate-${policy}`;
  await waitFor(
    async () => {
      if (names.length === 0) return true;
      const r = await env.client.getIfExists<{ results?: { resources?: { name: string }[] }[] }>(
        report,
      );
      const seen = new Set(r?.results?.flatMap((x) => x.resources?.map((o) => o.name) ?? []));
      return names.every((n) => seen.has(n));
    },
    `trustgate to see the ${names.length} pods of ${policy}`,
    45_000,
  );
  return pool(policy, nodes, pods);
}

const pool = (policy: string, nodes: string[], pods: Map<string, string[]>): Pool => ({
  policy,
  nodes,
  pods,
});

/** How many of the pool's nodes carry trust label `value`. */
async function labelled(env: Env, p: Pool, value: string): Promise<number> {
  const list = await env.client.get<{ items: NodeView[] }>('/api/v1/nodes', {
    labelSelector: `trust.trustgate.dev/${p.policy}=${value}`,
  });
  return list.items.length;
}

/** Writes an attestation that fails the policy (disk encryption off) for each node. */
export async function drift(env: Env, nodes: string[]): Promise<void> {
  // Retried: trustgate writes the attestation's status too (409 on a stale version), and
  // a fault may be under way.
  await inBatches(nodes, 10, (node) =>
    waitFor(
      () => attest(env, node, { diskEncryption: false }).then(() => true),
      `drift of ${node}`,
      30_000,
    ),
  );
}

/** `trustgate run` (controllers on, one replica) through a fresh fault proxy. */
export async function startBehindProxy(
  env: Env,
  name: string,
  args: string[] = [],
  more: Pick<TrustgateProcessOptions, 'webhookPort' | 'webhookUrl'> = {},
): Promise<{ proxy: FaultProxy; trustgate: TrustgateProcess }> {
  const proxy = await startFaultProxy({
    kubeconfigPath: env.cluster.kubeconfigPath,
    // Node patches: which of them wrote the taint.
    recordBodies: /^\/api\/v1\/nodes\/[^/]+$/,
  });
  try {
    const trustgate = await startReplica(
      env,
      `tg-${name}-${env.id}`,
      name,
      proxy.kubeconfigPath,
      ['--leader-elect=false', ...args],
      more,
    );
    await trustgate.ready();
    return { proxy, trustgate };
  } catch (err) {
    await proxy.stop();
    throw err;
  }
}

export interface FaultFixture {
  env: Env;
  proxy: FaultProxy;
  trustgate: TrustgateProcess;
}

/**
 * A fault test file's cluster and `trustgate run` behind a fault proxy, started in its
 * beforeAll and ended in its afterAll whatever happened. Read the fields inside tests.
 */
export function useFaultFixture(name: string): FaultFixture {
  const f = {} as FaultFixture;
  beforeAll(async () => {
    f.env = await setup();
    Object.assign(f, await startBehindProxy(f.env, name));
  }, 90_000);
  afterAll(async () => {
    await f.trustgate?.stop();
    await f.proxy?.stop();
    await f.env?.stop();
  });
  return f;
}

const REVOCATION = 'trustgate.dev/revocation';
const phaseOf = (n: NodeView, policy: string): string | undefined =>
  JSON.parse(n.metadata.annotations?.[REVOCATION] ?? '{}')[policy]?.phase;

async function podExists(env: Env, name: string): Promise<boolean> {
  return env.client.get(`/api/v1/namespaces/${env.ns}/pods/${name}`).then(
    () => true,
    (err: { statusCode?: number }) => {
      if (err.statusCode === 404) return false;
      throw err;
    },
  );
}

/** Every drifted node revoked (taint, label false, phase revoked, pods gone). */
export async function revoked(env: Env, p: Pool, drifted: string[]): Promise<boolean> {
  for (const node of drifted) {
    const n = await getNode(env, node);
    if (!untrustedTaint(n) || phaseOf(n, p.policy) !== 'revoked') return false;
    for (const pod of p.pods.get(node) ?? []) if (await podExists(env, pod)) return false;
  }
  return true;
}

/** Waits until `drifted` are revoked; returns how long that took from `since`. */
export async function recovery(env: Env, p: Pool, drifted: string[], since: number) {
  // A reconcile that failed all through an outage retries on its work queue's backoff,
  // which doubles up to 60 s: recovery may take that long after a long outage.
  await waitFor(() => revoked(env, p, drifted), `revocation of ${drifted.length} nodes`, 90_000);
  return Date.now() - since;
}

export interface ActionCounts {
  /** Governed pods of drifted nodes still there after recovery. */
  lost: number;
  /** Pod removals and taint writes applied more than once. */
  duplicates: number;
  /** Removals the API server applied (2xx). */
  removals: number;
  /**
   * Removal requests the API server did not apply: cut by the fault and retried, or
   * answered 404 because the pod was already gone (a retry, or a reconcile reading a cache
   * that had not yet seen the deletion). Nothing is removed twice either way.
   */
  notApplied: number;
  /** Node patches that added the untrusted taint. */
  taintWrites: number;
}

const ok = (r: RecordedRequest) => r.status !== undefined && r.status >= 200 && r.status < 300;
const podName = (r: RecordedRequest, ns: string) => {
  const m = new RegExp(`^/api/v1/namespaces/${ns}/pods/([^/]+)(/eviction)?$`).exec(r.path);
  const removal = m && (m[2] ? r.method === 'POST' : r.method === 'DELETE');
  return removal ? m[1] : undefined;
};
/**
 * A node patch that sets the NoSchedule taint of drift. (The PreferNoSchedule taint an
 * untrusted node carries before drift actions is a separate write, not counted here.)
 */
const addsTaint = (r: RecordedRequest) => {
  if (r.method !== 'PATCH' || !ok(r)) return false;
  let body: { spec?: { taints?: { key?: string; effect?: string }[] } };
  try {
    body = JSON.parse(r.requestBody() ?? '');
  } catch {
    return false;
  }
  return (body.spec?.taints ?? []).some(
    (t) => t.key === 'trustgate.dev/untrusted' && t.effect === 'NoSchedule',
  );
};

/**
 * The invariants every fault test ends with, checked against the cluster and the proxy's
 * log: every drifted node tainted once, labelled untrusted, its revocation recorded as
 * finished and each of its governed pods removed exactly once; every other node still
 * trusted, untainted, its pods untouched. Returns the counts the report gives.
 */
export async function expectInvariants(
  env: Env,
  proxy: FaultProxy,
  p: Pool,
  drifted: string[],
): Promise<ActionCounts> {
  const log = proxy.requests();
  const poolPods = new Set([...p.pods.values()].flat());
  const removalsOf = new Map<string, number>();
  let notApplied = 0;
  for (const r of log) {
    const pod = podName(r, env.ns);
    if (!pod || !poolPods.has(pod)) continue;
    if (ok(r)) removalsOf.set(pod, (removalsOf.get(pod) ?? 0) + 1);
    else notApplied++;
  }
  const taintsOf = new Map<string, number>();
  for (const r of log.filter(addsTaint)) {
    const node = r.path.split('/').pop() as string;
    if (!p.nodes.includes(node)) continue;
    taintsOf.set(node, (taintsOf.get(node) ?? 0) + 1);
  }
  let lost = 0;
  let duplicates = 0;
  for (const node of p.nodes) {
    const n = await getNode(env, node);
    const isDrifted = drifted.includes(node);
    const label = n.metadata.labels?.[`trust.trustgate.dev/${p.policy}`];
    // No node wrongly trusted, and no trusted node wrongly revoked.
    expect({ node, label, taint: untrustedTaint(n)?.value }).toEqual({
      node,
      label: isDrifted ? 'false' : 'true',
      taint: isDrifted ? p.policy : undefined,
    });
    expect({ node, taintWrites: taintsOf.get(node) ?? 0 }).toEqual({
      node,
      taintWrites: isDrifted ? 1 : 0,
    });
    if (isDrifted) expect(phaseOf(n, p.policy)).toBe('revoked');
    for (const pod of p.pods.get(node) ?? []) {
      const applied = removalsOf.get(pod) ?? 0;
      const exists = await podExists(env, pod);
      if (isDrifted && exists) lost++;
      if (applied > 1) duplicates += applied - 1;
      expect({ pod, exists }).toEqual({ pod, exists: !isDrifted });
    }
  }
  const counts: ActionCounts = {
    lost,
    duplicates,
    removals: [...removalsOf.values()].reduce((a, b) => a + b, 0),
    notApplied,
    taintWrites: [...taintsOf.values()].reduce((a, b) => a + b, 0),
  };
  expect({ lost, duplicates }).toEqual({ lost: 0, duplicates: 0 });
  return counts;
}

/** One line per scenario for the report: recovery time and action counts. */
export function report(scenario: string, tier: string, recoveryMs: number, c: ActionCounts) {
  process.stderr.write(
    `fault ${scenario} [${tier}]: recovered in ${recoveryMs} ms; removals ${c.removals}, ` +
      `lost ${c.lost}, duplicates ${c.duplicates}, not applied (404/cut) ${c.notApplied}, taint writes ${c.taintWrites}\n`,
  );
}
