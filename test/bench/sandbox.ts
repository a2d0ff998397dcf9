// `npm run bench -- sandbox [--nodes N] [--pods N] [--updates N]`: the local control
// plane at the scale the operator benchmarks need (default 5,000 nodes, 50,000 pods).
// Setup seeds objects straight into the store; what is measured goes over HTTPS through
// client-node: a full paged list of every pod, and watch events delivered to a
// client-node Watch while pods are being patched. Last line: one JSON object.
import https from 'node:https';
import { parseArgs } from 'node:util';
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { startSandbox } from '../../hack/sandbox/index.ts';

const NAMESPACES = 50;

function node(i: number) {
  return {
    metadata: {
      name: `node-${i}`,
      labels: {
        'kubernetes.io/hostname': `node-${i}`,
        'topology.kubernetes.io/zone': `zone-${i % 3}`,
        pool: i % 2 ? 'ci' : 'prod',
      },
    },
    spec: { podCIDR: `10.${i >> 8}.${i & 255}.0/24` },
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          lastHeartbeatTime: '2026-11-25T00:00:00Z',
          lastTransitionTime: '2026-11-25T00:00:00Z',
        },
      ],
      addresses: [{ type: 'InternalIP', address: `10.0.${i >> 8}.${i & 255}` }],
      nodeInfo: { kubeletVersion: 'v1.35.0', osImage: 'sandbox', architecture: 'amd64' },
      capacity: { cpu: '8', memory: '32Gi', pods: '110' },
    },
  };
}

function pod(i: number, nodes: number) {
  const ns = `team-${i % NAMESPACES}`;
  return {
    metadata: {
      name: `app-${i}`,
      namespace: ns,
      labels: { app: `app-${i % 500}`, 'pod-template-hash': '5d8f7c9b4' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `app-${i % 500}-5d8f7c9b4`,
          uid: '6f1c3c1e-1d0b-4b8e-9c1a-0d8f3e2b7a10',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      nodeName: `node-${i % nodes}`,
      serviceAccountName: 'default',
      containers: [
        {
          name: 'app',
          image: 'registry.example.com/app:1.2.3',
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
          volumeMounts: [
            {
              name: 'kube-api-access-abcde',
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              readOnly: true,
            },
          ],
        },
      ],
      volumes: [
        {
          name: 'kube-api-access-abcde',
          projected: {
            defaultMode: 420,
            sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }],
          },
        },
      ],
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      terminationGracePeriodSeconds: 30,
    },
    status: {
      phase: 'Running',
      podIP: `10.244.${(i >> 8) & 255}.${i & 255}`,
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'PodScheduled', status: 'True' },
      ],
      containerStatuses: [
        { name: 'app', ready: true, restartCount: 0, image: 'registry.example.com/app:1.2.3' },
      ],
    },
  };
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      nodes: { type: 'string', default: '5000' },
      pods: { type: 'string', default: '50000' },
      updates: { type: 'string', default: '5000' },
    },
  });
  const nodes = Number(values.nodes);
  const pods = Number(values.pods);
  const updates = Number(values.updates);
  const sandbox = await startSandbox();
  try {
    let t = performance.now();
    for (let n = 0; n < NAMESPACES; n++)
      sandbox.seed('', 'v1', 'namespaces', { metadata: { name: `team-${n}` } });
    for (let i = 0; i < nodes; i++) sandbox.seed('', 'v1', 'nodes', node(i));
    for (let i = 0; i < pods; i++) sandbox.seed('', 'v1', 'pods', pod(i, nodes));
    const seedMs = Math.round(performance.now() - t);
    global.gc?.();
    const seededHeap = mib(process.memoryUsage().heapUsed);
    console.log(
      `seeded ${nodes} nodes and ${pods} pods in ${seedMs} ms (heap used ${seededHeap} MiB, rss ${mib(process.memoryUsage().rss)} MiB)`,
    );

    const kc = new KubeConfig();
    kc.loadFromFile(sandbox.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);

    // A full paged list of every pod, as an informer's initial list does (limit 500).
    t = performance.now();
    let listed = 0;
    let token: string | undefined;
    do {
      const page = await core.listPodForAllNamespaces({ limit: 500, _continue: token });
      listed += page.items.length;
      token = page.metadata?._continue;
    } while (token);
    const listMs = Math.round(performance.now() - t);
    if (listed !== pods) throw new Error(`listed ${listed} pods, expected ${pods}`);
    console.log(`list pods (client-node, limit 500): ${listed} pods in ${listMs} ms`);

    // Watch every pod from now while pods change: first through HTTPS patches (what a
    // client sees end to end), then a burst of in-process writes (the watch path alone).
    const start = await core.listNode({ limit: 1 });
    let received = 0;
    let target = updates;
    let lastEventAt = 0;
    let reached = () => {};
    const controller = await new Watch(kc).watch(
      '/api/v1/pods',
      { resourceVersion: start.metadata?.resourceVersion },
      () => {
        received++;
        lastEventAt = performance.now();
        if (received === target) reached();
      },
      () => {},
    );
    const seen = (count: number) =>
      new Promise<void>((resolve) => {
        target = count;
        reached = resolve;
        if (received >= count) resolve();
        setTimeout(resolve, 60_000).unref();
      });
    const concurrency = 32;
    let next = 0;
    t = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < updates) {
          const i = next++;
          await core.patchNamespacedPod(
            {
              name: `app-${i}`,
              namespace: `team-${i % NAMESPACES}`,
              body: { metadata: { labels: { bench: String(i) } } },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
        }
      }),
    );
    const writeMs = performance.now() - t;
    await seen(updates);
    const patchesPerSecond = Math.round(updates / (writeMs / 1000));
    console.log(
      `patches over HTTPS (client-node, ${concurrency} at a time): ${updates} in ${Math.round(writeMs)} ms (${patchesPerSecond}/s), watch saw ${received}`,
    );

    // The same patches from a keep-alive HTTPS client: the server's own capacity
    // (client-node opens a new TLS connection per request, which dominates above).
    const agent = new https.Agent({ keepAlive: true, ca: sandbox.caPem, maxSockets: concurrency });
    const url = new URL(sandbox.url);
    const rawPatch = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const body = JSON.stringify({ metadata: { labels: { raw: String(i) } } });
        const req = https.request(
          {
            agent,
            hostname: url.hostname,
            port: url.port,
            method: 'PATCH',
            path: `/api/v1/namespaces/team-${i % NAMESPACES}/pods/app-${i}`,
            headers: {
              authorization: `Bearer ${sandbox.adminToken}`,
              'content-type': 'application/merge-patch+json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const rawBefore = received;
    next = 0;
    t = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < updates) await rawPatch(next++);
      }),
    );
    const rawPatchesPerSecond = Math.round(updates / ((performance.now() - t) / 1000));
    agent.destroy();
    await seen(rawBefore + updates);
    console.log(
      `patches over HTTPS (keep-alive client, ${concurrency} at a time): ${rawPatchesPerSecond}/s`,
    );

    const podType = sandbox.objects.registry.lookup('', 'v1', 'pods');
    if (!podType) throw new Error('pods not served');
    const burst = Math.min(pods, 20_000);
    const before = received;
    t = performance.now();
    for (let i = 0; i < burst; i++) {
      const obj = sandbox.objects.read(podType, `team-${i % NAMESPACES}`, `app-${i}`);
      obj.metadata.labels = { ...obj.metadata.labels, burst: String(i) };
      sandbox.objects.writeInternal(podType, obj);
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    await seen(before + burst);
    controller.abort();
    const watchSeconds = (lastEventAt - t) / 1000;
    const eventsPerSecond = Math.round((received - before) / watchSeconds);
    console.log(
      `watch (client-node): ${received - before} events of an in-process burst of ${burst} in ${watchSeconds.toFixed(2)} s (${eventsPerSecond}/s)`,
    );
    global.gc?.();
    const rss = mib(process.memoryUsage().rss);
    console.log(`rss: ${rss} MiB, heap used: ${mib(process.memoryUsage().heapUsed)} MiB`);
    console.log(
      JSON.stringify({
        bench: 'sandbox',
        nodes,
        pods,
        list_pods_ms: listMs,
        watch_events_per_s: eventsPerSecond,
        patches_per_s: patchesPerSecond,
        keepalive_patches_per_s: rawPatchesPerSecond,
        heap_after_seed_mib: seededHeap,
        rss_mib: rss,
      }),
    );
  } finally {
    await sandbox.stop();
  }
}
