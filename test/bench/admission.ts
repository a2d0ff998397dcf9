// `npm run bench -- admission [--seconds S] [--rate R] [--concurrency C] [--rounds N]`
// HTTPS pod-CREATE AdmissionReviews (8-20 KB pods) against the real webhook server with
// caches holding 50 policies, 5,000 attested nodes and 2,000 grants, side by side with a
// bare node:https server that only parses the JSON and answers allowed. Same run, same
// client, which lives in a worker thread so it does not share the servers' event loop.
//   open loop:   a fixed rate (default 1,000 req/s); latency from each request's scheduled
//                send time, so a slow server cannot hide its queueing (no coordinated omission)
//   closed loop: C requests in flight on keep-alive connections; peak requests per second
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { EndpointTrustPolicy, WorkloadGrant } from '../../operator/api/types.generated.ts';
import { batchedLogDestination } from '../../operator/runtime/log-destination.ts';
import { admit } from '../../webhook/admit.ts';
import type { CachedPod } from '../../webhook/caches.ts';
import { decodeAdmissionReview } from '../../webhook/codec.ts';
import { admissionMetrics } from '../../webhook/metrics.ts';
import { startLocalWebhook } from '../unit/webhook/local-webhook.ts';
import {
  buildWorld,
  makeGrant,
  makePolicy,
  makeVerifierKey,
  podReview,
  runnerPod,
  signAttestation,
  type WorldNode,
} from '../unit/webhook/world.ts';

const POLICIES = 50;
const NODES = 5_000;
const GRANTS = 2_000;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

interface ClientJob {
  port: number;
  caPem: string;
  bodies: string[];
  mode: 'open' | 'closed';
  seconds: number;
  rate: number;
  concurrency: number;
}

interface ClientResult {
  latenciesMs: number[];
  completed: number;
  errors: number;
  elapsedS: number;
  /** Open loop: how late the client sent (its own timer), p99. */
  sendLagP99Ms?: number;
  /** CPU time of the servers' thread (main) per completed request, measured part only. */
  serverCpuUs?: number;
}

// ---- the client (worker thread) ----

async function client(job: ClientJob): Promise<ClientResult> {
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: Math.max(job.concurrency, 64),
    ca: job.caPem,
  });
  let errors = 0;
  const send = (body: string) =>
    new Promise<void>((resolve) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: job.port,
          path: '/validate',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            if (res.statusCode !== 200) errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  // Warm up connections and JIT.
  for (let i = 0; i < 2000; i++) await send(job.bodies[i % job.bodies.length] as string);
  errors = 0;
  parentPort?.postMessage('measuring');
  const latenciesMs: number[] = [];
  const lagMs: number[] = [];
  const start = performance.now();
  const endAt = start + job.seconds * 1000;
  let completed = 0;
  if (job.mode === 'closed') {
    let i = 0;
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (performance.now() < endAt) {
          const t = performance.now();
          await send(job.bodies[i++ % job.bodies.length] as string);
          latenciesMs.push(performance.now() - t);
          completed++;
        }
      }),
    );
    return { latenciesMs, completed, errors, elapsedS: (performance.now() - start) / 1000 };
  }
  const interval = 1000 / job.rate;
  const total = Math.floor(job.seconds * job.rate);
  const inflight: Promise<void>[] = [];
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        // Sending never waits for answers (open loop), so latency is measured from the
        // actual send; how late the client's own timer fired is reported apart.
        const sentAt = performance.now();
        lagMs.push(sentAt - (start + sent * interval));
        inflight.push(
          send(job.bodies[sent % job.bodies.length] as string).then(() => {
            latenciesMs.push(performance.now() - sentAt);
            completed++;
          }),
        );
        sent++;
      }
      // Sleep until the next send is due (a busy loop would steal a core from the server).
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      else done();
    };
    tick();
  });
  await Promise.all(inflight);
  agent.destroy();
  lagMs.sort((a, b) => a - b);
  return {
    latenciesMs,
    completed,
    errors,
    elapsedS: (performance.now() - start) / 1000,
    sendLagP99Ms: percentile(lagMs, 0.99),
  };
}

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === 'client') {
  const result = await client((workerData as { job: ClientJob }).job);
  parentPort?.postMessage(result);
}

function runClient(job: ClientJob): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'client', job } });
    // The servers share this thread: its CPU time per request is a figure the other
    // processes on the machine disturb far less than requests per second.
    let cpuAtStart = process.threadCpuUsage();
    worker.on('message', (m: ClientResult | 'measuring') => {
      if (m === 'measuring') {
        cpuAtStart = process.threadCpuUsage();
        return;
      }
      const cpu = process.threadCpuUsage(cpuAtStart);
      resolve({ ...m, serverCpuUs: (cpu.user + cpu.system) / Math.max(1, m.completed) });
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

// ---- the servers (main thread) ----

/** A pod as a controller writes it, padded with env and annotations to `bytes`. */
function realisticPod(
  i: number,
  ns: string,
  sa: string,
  node: string,
  bytes: number,
): Record<string, unknown> {
  const pod = runnerPod(`runner-${i}-abcde`, {
    serviceAccount: sa,
    nodeName: node,
    labels: { 'pod-template-hash': '5d8f7c9b6d', 'app.kubernetes.io/name': 'ci-runner' },
  });
  const meta = pod.metadata as Record<string, unknown>;
  meta.namespace = ns;
  meta.generateName = `runner-${i}-`;
  meta.ownerReferences = [
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: `runner-${i}`,
      uid: '3b0c5a36-6c1b-4b4e-9d6f-1f8a3c2b7e11',
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
  const annotations: Record<string, string> = {
    'kubectl.kubernetes.io/restartedAt': '2026-11-25T10:00:00Z',
  };
  const container = (pod.spec as { containers: Record<string, unknown>[] }).containers[0] as Record<
    string,
    unknown
  >;
  Object.assign(container, {
    args: ['--url', 'https://git.example.com/org', '--labels', 'linux,x64,docker'],
    resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: '4', memory: '8Gi' } },
    securityContext: {
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [
      {
        name: 'kube-api-access',
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
        readOnly: true,
      },
    ],
    env: [] as { name: string; value: string }[],
  });
  const env = container.env as { name: string; value: string }[];
  let n = 0;
  while (JSON.stringify(pod).length < bytes) {
    if (n % 3 === 0)
      annotations[`ci.example.com/build-${n}`] = `pipeline-${i}-${n}-${'x'.repeat(40)}`;
    else env.push({ name: `RUNNER_SETTING_${n}`, value: `value-${n}-${'y'.repeat(60)}` });
    meta.annotations = annotations;
    n++;
  }
  return pod;
}

export async function buildCaches() {
  const key = await makeVerifierKey('bench-1');
  const now = Date.now();
  const policies: EndpointTrustPolicy[] = Array.from({ length: POLICIES }, (_, p) =>
    makePolicy(`policy-${p}`, key, { pool: `pool-${p}`, namespaces: [`ns-${p}`] }),
  );
  const nodes: WorldNode[] = await Promise.all(
    Array.from({ length: NODES }, async (_, n) => {
      const name = `node-${n}`;
      return {
        name,
        labels: { pool: `pool-${n % POLICIES}` },
        token: await signAttestation(key, name, now),
      };
    }),
  );
  const grants: WorkloadGrant[] = Array.from({ length: GRANTS }, (_, g) => {
    const p = g % POLICIES;
    return makeGrant(`grant-${g}`, `ns-${p}`, `sa-${Math.floor(g / POLICIES)}`, `policy-${p}`);
  });
  const namespaces = Object.fromEntries(
    Array.from({ length: POLICIES }, (_, p) => [`ns-${p}`, { team: `t${p}` }]),
  );
  const pods: CachedPod[] = [];
  const world = await buildWorld({ policies, nodes, grants, namespaces, pods });
  return world.caches;
}

export function bodies(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const p = i % POLICIES;
    const node = `node-${p + POLICIES * (i % (NODES / POLICIES))}`; // a node in the policy's pool
    const sa = `sa-${i % (GRANTS / POLICIES)}`;
    const size = 8_192 + ((i * 7919) % 12_288); // 8-20 KB
    return JSON.stringify(podReview(realisticPod(i, `ns-${p}`, sa, node, size), `ns-${p}`));
  });
}

async function bareServer(tls: { cert: string; key: string }) {
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        request: { uid: string };
      };
      const out = JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed: true },
      });
      // Content-Length as trustgate sends it (without it node answers chunked, which costs more).
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(out),
        })
        .end(out);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '5' },
      rate: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);

  const t0 = performance.now();
  const caches = await buildCaches();
  console.log(
    `caches: ${POLICIES} policies, ${NODES} nodes (signed attestations verified), ${GRANTS} grants in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const reviewBodies = bodies(256);
  // Every review must take the full decision path and be allowed (trusted node, grant).
  const verdicts = await Promise.all(
    reviewBodies.map((b) => admit(decodeAdmissionReview(b), caches, Date.now())),
  );
  const denied = verdicts.filter((v) => !v.allowed);
  if (denied.length > 0 || verdicts.some((v) => v.policies.length !== 1)) {
    throw new Error(`bench reviews are not all governed and allowed: ${denied[0]?.message}`);
  }
  const sizes = reviewBodies.map((b) => b.length).sort((a, b) => a - b);
  console.log(
    `reviews: ${reviewBodies.length} pod CREATEs, ${((sizes[0] as number) / 1024).toFixed(1)}-${((sizes[sizes.length - 1] as number) / 1024).toFixed(1)} KB`,
  );

  const {
    server: webhook,
    ca,
    tls,
  } = await startLocalWebhook({
    caches,
    // The decision log is written as `trustgate run` writes it (to /dev/null): its cost is
    // part of the measurement.
    logger: pino({ level: 'info' }, batchedLogDestination('/dev/null')),
    metrics: admissionMetrics(new Registry()),
  });
  const bare = await bareServer(tls);

  const job = (port: number, mode: 'open' | 'closed'): ClientJob => ({
    port,
    caPem: ca.certPem,
    bodies: reviewBodies,
    mode,
    seconds,
    rate,
    concurrency,
  });
  const report = (label: string, r: ClientResult) => {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b);
    const rps = r.completed / r.elapsedS;
    console.log(
      `${label.padEnd(34)} ${Math.round(rps).toString().padStart(6)} req/s  p50 ${percentile(sorted, 0.5)?.toFixed(2)} ms  p99 ${percentile(sorted, 0.99)?.toFixed(2)} ms  max ${sorted[sorted.length - 1]?.toFixed(2)} ms  errors ${r.errors}  server cpu ${r.serverCpuUs?.toFixed(0)} us/req${r.sendLagP99Ms === undefined ? '' : `  (client send lag p99 ${r.sendLagP99Ms.toFixed(2)} ms)`}`,
    );
    return { rps, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), errors: r.errors };
  };

  // Alternate the two servers over several rounds and keep each one's best round, so a
  // burst of load from elsewhere on the machine does not decide the comparison.
  type Figures = ReturnType<typeof report>;
  const best = (a: Figures | undefined, b: Figures, by: 'rps' | 'p99') =>
    !a ? b : by === 'rps' ? (b.rps > a.rps ? b : a) : b.p99 < a.p99 ? b : a;
  let bareOpen: Figures | undefined;
  let hookOpen: Figures | undefined;
  let barePeak: Figures | undefined;
  let hookPeak: Figures | undefined;
  for (let round = 1; round <= rounds; round++) {
    console.log(`round ${round}/${rounds}`);
    bareOpen = best(
      bareOpen,
      report(`  bare https, open loop ${rate}/s`, await runClient(job(bare.port, 'open'))),
      'p99',
    );
    hookOpen = best(
      hookOpen,
      report(`  trustgate, open loop ${rate}/s`, await runClient(job(webhook.port, 'open'))),
      'p99',
    );
    barePeak = best(
      barePeak,
      report(
        `  bare https, closed loop c=${concurrency}`,
        await runClient(job(bare.port, 'closed')),
      ),
      'rps',
    );
    hookPeak = best(
      hookPeak,
      report(
        `  trustgate, closed loop c=${concurrency}`,
        await runClient(job(webhook.port, 'closed')),
      ),
      'rps',
    );
  }
  if (!bareOpen || !hookOpen || !barePeak || !hookPeak) throw new Error('no rounds ran');
  await webhook.close(1000);
  await bare.close();
  console.log(
    `trustgate peak = ${((100 * hookPeak.rps) / barePeak.rps).toFixed(0)} % of the bare server; bare p99 at ${rate}/s ${bareOpen.p99?.toFixed(2)} ms`,
  );
  if (hookOpen.errors + hookPeak.errors > 0)
    console.log(`WARNING: ${hookOpen.errors + hookPeak.errors} failed requests`);
  console.log(
    JSON.stringify({
      bench: 'admission',
      p50_ms: Number(hookOpen.p50?.toFixed(3)),
      p99_ms: Number(hookOpen.p99?.toFixed(3)),
      rate,
      peak_rps: Math.round(hookPeak.rps),
      baseline_peak_rps: Math.round(barePeak.rps),
    }),
  );
}
