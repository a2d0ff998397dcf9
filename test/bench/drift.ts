// `npm run bench -- drift [--nodes 1000] [--pods-per-node 30] [--drifting 50] [--rounds 2]
//   [--rss-nodes 5000] [--rss-pods 50000] [--samples 3] [--set K=V (chart values)]`
// Measures the process the image runs: `node <the Dockerfile's Node flags> bin/trustgate.js
// run <the chart Deployment's arguments>` as a child, against the sandbox (which runs in
// this process). Figures come from the child itself: RSS from /proc/PID/status (and its
// process_resident_memory_bytes), drift from its trustgate_drift_to_revocation_seconds.
//   idle:   RSS on an empty cluster (CRDs only), median of `samples` fresh processes
//   drift:  nodes × pods governed by one policy, every node attested; then `drifting`
//           nodes get an attestation with diskEncryption false, all at once. Latency per
//           node runs from just before its attestation write to the DELETED event of its
//           last governed pod (the last revocation action), seen on a watch.
//   memory: the cluster grown to rss-nodes / rss-pods, RSS of `samples` fresh processes
//           once their caches are synced and the initial reconcile pass has settled.
//   reports: PolicyReport/ClusterPolicyReport writes (trustgate_policy_report_writes_total)
//           for the first pass, over `idle-seconds` with nothing changing, and per drift round.
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { REPORT_BATCH_MS } from '../../operator/controllers/reports.ts';
import type { KubeClient } from '../../operator/kube/rest.ts';
import { resourcePath } from '../../operator/kube/rest.ts';
import { EAR_PROFILE } from '../../operator/trust/index.ts';
import { bucketQuantile, total } from '../support/prom-text.ts';
import { chartSets, settled, startBenchCluster, TG, waitUntil } from './lib/cluster.ts';

const ISSUER = 'https://verifier.bench.example';
const NS = 'bench-apps';
const POOL = { 'bench.trustgate.dev/pool': 'runners' };
const SERVICE_ACCOUNTS = 20;
const DRIFT_HISTOGRAM = 'trustgate_drift_to_revocation_seconds';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      set: { type: 'string', multiple: true },
      nodes: { type: 'string', default: '1000' },
      'pods-per-node': { type: 'string', default: '30' },
      drifting: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '2' },
      'rss-nodes': { type: 'string', default: '5000' },
      'rss-pods': { type: 'string', default: '50000' },
      samples: { type: 'string', default: '3' },
      'idle-seconds': { type: 'string', default: '60' },
    },
  });
  const nodes = Number(values.nodes);
  const perNode = Number(values['pods-per-node']);
  const drifting = Number(values.drifting);
  const rounds = Number(values.rounds);
  const rssNodes = Number(values['rss-nodes']);
  const rssPods = Number(values['rss-pods']);
  const sampleCount = Number(values.samples);
  const idleSeconds = Number(values['idle-seconds']);

  const cluster = await startBenchCluster(chartSets(values.set));
  const { sandbox, client } = cluster;
  /** RSS of `samples` fresh processes, each measured once it has settled; and its peak. */
  const rssSamples = async (what: string) => {
    const mib: number[] = [];
    const peaks: number[] = [];
    for (let i = 0; i < sampleCount; i++) {
      const p = await cluster.trustgate();
      const metrics = await p.metrics();
      const { rssBytes, peakBytes } = await p.memory();
      const reported = total(metrics, 'process_resident_memory_bytes') / 1048576;
      const heap = total(metrics, 'nodejs_heap_size_used_bytes') / 1048576;
      console.log(
        `  ${what} sample ${i + 1}: RSS ${fmt(rssBytes / 1048576)} MiB (process_resident_memory_bytes ${fmt(reported)} MiB, heap used ${fmt(heap)} MiB; peak while starting ${fmt(peakBytes / 1048576)} MiB)`,
      );
      mib.push(rssBytes / 1048576);
      peaks.push(peakBytes / 1048576);
      await p.stop();
    }
    return { mib: mib.sort((a, b) => a - b), peaks: peaks.sort((a, b) => a - b) };
  };
  try {
    // ---- idle: an empty cluster ----
    const { mib: idle } = await rssSamples('idle, empty cluster');
    console.log(`idle RSS: median ${fmt(median(idle))} MiB, range ${range(idle)}`);

    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256' };
    const signFor = (node: string, diskEncryption: boolean) =>
      new SignJWT({
        eat_profile: EAR_PROFILE,
        iat: Math.floor(Date.now() / 1000),
        iss: ISSUER,
        sub: node,
        'ear.verifier-id': { build: 'bench-verifier 1.0', developer: ISSUER },
        submods: {
          node: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { hardware: 2 } },
        },
        posture: { diskEncryption, secureBoot: true, patchAgeDays: 2 },
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench-1' })
        .sign(privateKey);

    // ---- seed: namespaces, service accounts, grants, policy, nodes, pods, attestations ----
    let t = performance.now();
    sandbox.seed('', 'v1', 'namespaces', {
      metadata: { name: NS, labels: { 'bench.trustgate.dev/governed': 'true' } },
    });
    for (let s = 0; s < SERVICE_ACCOUNTS; s++) {
      sandbox.seed('', 'v1', 'serviceaccounts', {
        metadata: { name: `runner-${s}`, namespace: NS },
      });
      sandbox.seed(TG.group, TG.version, 'workloadgrants', {
        metadata: { name: `runner-${s}`, namespace: NS },
        spec: {
          serviceAccountName: `runner-${s}`,
          policyRef: { name: 'runners' },
          maxExpirationSeconds: 3600,
        },
      });
    }
    sandbox.seed(TG.group, TG.version, 'endpointtrustpolicies', {
      metadata: { name: 'runners', generation: 1 },
      spec: {
        nodeSelector: { matchLabels: POOL },
        workloadSelector: {
          namespaceSelector: { matchLabels: { 'bench.trustgate.dev/governed': 'true' } },
        },
        attestation: {
          verifiers: [
            { name: 'bench', issuer: ISSUER, jwks: { keys: [jwk] }, algorithms: ['ES256'] },
          ],
          maxAge: '1h',
          clockSkew: '30s',
          minimumStatus: 'affirming',
          posture: [{ key: 'diskEncryption', operator: 'Equals', values: ['true'] }],
        },
        workloadIdentity: { requireGrant: true, maxExpirationSeconds: 3600 },
        enforcement: {
          mode: 'Enforce',
          onDrift: {
            gracePeriod: '0s',
            bootstrapGracePeriod: '1h',
            taint: true,
            podAction: 'ForceDelete',
            deleteLegacyTokenSecrets: true,
          },
        },
      },
    });
    let podCount = 0;
    for (let i = 0; i < nodes; i++) {
      sandbox.seed('', 'v1', 'nodes', benchNode(`node-${i}`, true));
      for (let j = 0; j < perNode; j++)
        sandbox.seed('', 'v1', 'pods', benchPod(podCount++, `node-${i}`));
    }
    const tokens = await Promise.all(
      Array.from({ length: nodes }, (_, i) => signFor(`node-${i}`, true)),
    );
    tokens.forEach((token, i) => {
      sandbox.seed(TG.group, TG.version, 'nodeattestations', {
        metadata: { name: `node-${i}` },
        spec: { token },
      });
    });
    console.log(
      `seeded ${nodes} nodes, ${podCount} pods, ${nodes} attestations in ${Math.round(performance.now() - t)} ms`,
    );

    // ---- operator ----
    t = performance.now();
    const operator = await cluster.trustgate();
    await waitUntil(async () => {
      const n = await client.get<{ metadata: { labels?: Record<string, string> } }>(
        resourcePath({ version: 'v1', plural: 'nodes', name: `node-${nodes - 1}` }),
      );
      return n.metadata.labels?.['trust.trustgate.dev/runners'] === 'true';
    }, 120_000);
    console.log(
      `operator synced and reconciled ${nodes} nodes in ${Math.round(performance.now() - t)} ms`,
    );

    // ---- report writes: the first pass, then a window in which nothing changes ----
    const initialWrites = await reportWritesSettled(operator);
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const idleWrites = (await reportWritesSettled(operator)) - initialWrites;
    console.log(
      `policy report writes: ${initialWrites} for the first pass (${nodes} nodes, ${podCount} pods), ${idleWrites} in ${idleSeconds} s with nothing changing`,
    );

    // ---- drift rounds ----
    const latencies: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const victims = Array.from({ length: drifting }, (_, k) => `node-${round * drifting + k}`);
      const remaining = new Map<string, number>(victims.map((v) => [v, perNode]));
      const startedAt = new Map<string, number>();
      const doneAt = new Map<string, number>();
      const abort = new AbortController();
      const watchDone = client
        .watch(
          '/api/v1/pods',
          { resourceVersion: await listRV(client), allowWatchBookmarks: true, timeoutSeconds: 120 },
          (e) => {
            if (e.type !== 'DELETED') return;
            const node = (e.object.spec as { nodeName?: string } | undefined)?.nodeName;
            if (!node || !remaining.has(node)) return;
            const left = (remaining.get(node) ?? 0) - 1;
            remaining.set(node, left);
            if (left === 0) doneAt.set(node, performance.now());
            if ([...remaining.values()].every((v) => v <= 0)) abort.abort();
          },
          abort.signal,
        )
        .catch(() => undefined);
      const bad = await Promise.all(victims.map((v) => signFor(v, false)));
      await Promise.all(
        victims.map(async (v, k) => {
          const path = resourcePath({ ...TG, plural: 'nodeattestations', name: v });
          startedAt.set(v, performance.now());
          await client.patch(path, { spec: { token: bad[k] } }, 'merge');
        }),
      );
      const deadline = setTimeout(() => abort.abort(), 60_000);
      await watchDone;
      clearTimeout(deadline);
      for (const v of victims) {
        const end = doneAt.get(v);
        const start = startedAt.get(v);
        if (end === undefined || start === undefined)
          throw new Error(`node ${v}: revocation not seen within 60 s`);
        latencies.push(end - start);
      }
      const sorted = [...latencies.slice(-drifting)].sort((a, b) => a - b);
      console.log(
        `round ${round + 1}: ${drifting} nodes drifted at once; drift→last pod removed p50 ${fmt(pct(sorted, 50))} ms, max ${fmt(sorted.at(-1) ?? 0)} ms`,
      );
    }
    await settled(operator); // the last revocations' status writes are done
    const driftWrites = (await reportWritesSettled(operator)) - initialWrites - idleWrites;
    console.log(
      `policy report writes: ${driftWrites} for ${rounds} rounds of ${drifting} drifting nodes (${round1(driftWrites / rounds)} per round)`,
    );
    const histogram = await operator.metrics();
    const counted = total(histogram, `${DRIFT_HISTOGRAM}_count`);
    const le = (q: number) => bucketQuantile(histogram, DRIFT_HISTOGRAM, q);
    console.log(
      `trustgate's ${DRIFT_HISTOGRAM}: ${counted} revocations, sum ${fmt(total(histogram, `${DRIFT_HISTOGRAM}_sum`))} s, p50 ≤ ${le(0.5)} s, p99 ≤ ${le(0.99)} s`,
    );
    await operator.stop();

    // ---- memory: grow to rss-nodes / rss-pods, then a fresh operator process ----
    t = performance.now();
    const extraNodes = Math.max(0, rssNodes - nodes);
    const podsNow = podCount - drifting * rounds * perNode;
    const extraPods = Math.max(0, rssPods - podsNow);
    for (let i = 0; i < extraNodes; i++)
      sandbox.seed('', 'v1', 'nodes', benchNode(`extra-${i}`, false));
    for (let p = 0; p < extraPods; p++) {
      sandbox.seed('', 'v1', 'pods', benchPod(podCount++, `extra-${p % Math.max(1, extraNodes)}`));
    }
    console.log(
      `grew the cluster to ${nodes + extraNodes} nodes, ${podsNow + extraPods} pods in ${Math.round(performance.now() - t)} ms`,
    );
    const { mib: loaded, peaks } = await rssSamples(
      `${nodes + extraNodes} nodes, ${podsNow + extraPods} pods`,
    );
    console.log(
      `RSS with ${nodes + extraNodes} nodes and ${podsNow + extraPods} pods cached: median ${fmt(median(loaded))} MiB, range ${range(loaded)}; peak while listing them ${fmt(median(peaks))} MiB, range ${range(peaks)}`,
    );

    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        bench: 'drift',
        p50_ms: round1(pct(sorted, 50)),
        p99_ms: round1(pct(sorted, 99)),
        rss_mib: round1(median(loaded)),
        idle_rss_mib: round1(median(idle)),
        rss_mib_range: [round1(loaded[0] ?? 0), round1(loaded.at(-1) ?? 0)],
        peak_rss_mib: round1(median(peaks)),
        idle_rss_mib_range: [round1(idle[0] ?? 0), round1(idle.at(-1) ?? 0)],
        histogram_p99_le_s: le(0.99) ?? null,
        report_writes_initial: initialWrites,
        report_writes_idle_per_min: round1((idleWrites * 60) / idleSeconds),
        report_writes_per_drift_round: round1(driftWrites / rounds),
      }),
    );
  } finally {
    await cluster.stop();
  }
}

const REPORT_WRITES = 'trustgate_policy_report_writes_total';

/** Report writes once they stop moving: batches are delayed, so look past one batch. */
async function reportWritesSettled(p: Parameters<typeof settled>[0]): Promise<number> {
  let last = -1;
  for (;;) {
    await settled(p);
    const now = total(await p.metrics(), REPORT_WRITES);
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 2 * REPORT_BATCH_MS));
  }
}

const median = (sorted: number[]) => sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
const range = (sorted: number[]) => `${fmt(sorted[0] ?? 0)}–${fmt(sorted.at(-1) ?? 0)} MiB`;

async function listRV(client: KubeClient): Promise<string> {
  const l = await client.get<{ metadata: { resourceVersion: string } }>('/api/v1/pods', {
    limit: 1,
  });
  return l.metadata.resourceVersion;
}

function benchNode(name: string, inPool: boolean) {
  return {
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        ...(inPool ? POOL : {}),
      },
    },
    spec: { podCIDR: '10.244.0.0/24' },
    status: {
      capacity: { cpu: '16', memory: '64Gi', pods: '110' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          lastHeartbeatTime: '2026-11-25T00:00:00Z',
        },
      ],
      nodeInfo: { kubeletVersion: 'v1.35.0', containerRuntimeVersion: 'containerd://2.1.0' },
    },
  };
}

/** A pod shaped like a real runner pod (a few KB), so the trimming is measured honestly. */
function benchPod(i: number, node: string) {
  const sa = `runner-${i % SERVICE_ACCOUNTS}`;
  return {
    metadata: {
      name: `runner-${i}`,
      namespace: NS,
      labels: { app: 'runner', 'runner-group': `g-${i % 40}`, 'pod-template-hash': '7c9d5b8f6' },
      annotations: {
        'kubectl.kubernetes.io/default-container': 'runner',
        'bench/trace': 'x'.repeat(200),
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `runner-g-${i % 40}`,
          uid: '0b0e1c4a-9e1f-4c1a-9a52-1f2d3c4b5a6e',
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: node,
      serviceAccountName: sa,
      containers: [
        {
          name: 'runner',
          image: 'ghcr.io/example/actions-runner:2.330.0',
          args: ['--ephemeral', '--labels', 'linux,x64,trusted'],
          env: Array.from({ length: 12 }, (_, k) => ({
            name: `RUNNER_ENV_${k}`,
            value: `value-${k}-${'v'.repeat(20)}`,
          })),
          resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '4Gi' } },
          volumeMounts: [
            {
              name: 'kube-api-access',
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              readOnly: true,
            },
          ],
        },
      ],
      volumes: [
        {
          name: 'kube-api-access',
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3600, path: 'token' } },
              {
                configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
              },
            ],
          },
        },
      ],
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
    },
    status: {
      phase: 'Running',
      podIP: `10.244.${(i >> 8) & 255}.${i & 255}`,
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}
const round1 = (n: number) => Math.round(n * 10) / 10;
const fmt = (n: number) => round1(n).toFixed(1);
