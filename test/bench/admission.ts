// `npm run bench -- admission [--seconds S] [--rate R] [--concurrency C] [--rounds N] [--set K=V]`
// HTTPS pod-CREATE AdmissionReviews (8-20 KB pods) sent to a `trustgate run` child (the
// process the image runs, with the chart's arguments) whose caches hold, from the sandbox,
// 50 policies, 5,000 attested nodes and 2,000 grants; side by side with a bare node:https
// child process (same Node flags, same certificate) that only parses the JSON and answers
// allowed. Same run, same client, in a worker thread of this process.
//   open loop:   a fixed rate (default 1,000 req/s); latency from each request's scheduled
//                send time, so a slow server cannot hide its queueing (no coordinated omission)
//   closed loop: C requests in flight on keep-alive connections; peak requests per second
// Each round runs all four; the figures are the medians over rounds, with their range.
//   churn:       then the open loop twice more, --churn-seconds each: quiet, and while every
//                node is re-attested once (a new token through the API), i.e. 5,000 nodes'
//                2-minute refresh compressed into that window. Every review is for a trusted
//                node, so any denial is spurious (goal 0); p99 with vs without churn.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { text } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { resourcePath } from '../../operator/kube/rest.ts';
import { imageNodeFlags, type TrustgateProcess } from '../support/trustgate-process.ts';
import {
  makeGrant,
  makePolicy,
  makeVerifierKey,
  podReview,
  runnerPod,
  signAttestation,
  type VerifierKey,
} from '../unit/webhook/world.ts';
import { type BenchCluster, chartSets, SYSTEM_NS, startBenchCluster, TG } from './lib/cluster.ts';

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
  /** Answers with allowed: false (every bench review is for a trusted node and granted). */
  denied: number;
  elapsedS: number;
  /** Open loop: how late the client sent (its own timer), p99. */
  sendLagP99Ms?: number;
  /** CPU time of the server process per completed request, measured part only. */
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
  let denied = 0;
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
          let answer = '';
          res.on('data', (d: Buffer) => {
            answer += d;
          });
          res.on('end', () => {
            if (res.statusCode !== 200) errors++;
            else if (answer.includes('"allowed":false')) denied++;
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
  denied = 0;
  parentPort?.postMessage('measuring');
  const latenciesMs: number[] = [];
  const lagMs: number[] = [];
  const start = performance.now();
  const endAt = start + job.seconds * 1000;
  let completed = 0;
  const counts = () => ({
    latenciesMs,
    completed,
    errors,
    denied,
    elapsedS: (performance.now() - start) / 1000,
  });
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
    return counts();
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
  return { ...counts(), sendLagP99Ms: percentile(lagMs, 0.99) };
}

if (!isMainThread && (workerData as { role?: string } | undefined)?.role === 'client') {
  const result = await client((workerData as { job: ClientJob }).job);
  parentPort?.postMessage(result);
}

/** User + system CPU time of a process so far, in µs (Linux /proc, clock ticks of 10 ms). */
async function processCpuUs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function runClient(
  job: ClientJob,
  serverPid: number,
  onMeasuring?: () => void,
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'client', job } });
    // The server's CPU time per request is a figure the other processes on the machine
    // disturb far less than requests per second.
    let cpuAtStart = processCpuUs(serverPid);
    worker.on('message', (m: ClientResult | 'measuring') => {
      if (m === 'measuring') {
        cpuAtStart = processCpuUs(serverPid);
        onMeasuring?.();
        return;
      }
      void Promise.all([cpuAtStart, processCpuUs(serverPid)]).then(([start, end]) => {
        resolve({ ...m, serverCpuUs: (end - start) / Math.max(1, m.completed) });
        void worker.terminate();
      }, reject);
    });
    worker.once('error', reject);
  });
}

// ---- the cluster and the servers ----

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

/**
 * Seeds the sandbox with what trustgate's caches hold in this bench: policy p governs
 * namespace ns-p and nodes labelled pool=pool-p; every node has a fresh attestation.
 */
async function seedCluster(cluster: BenchCluster): Promise<VerifierKey> {
  const { sandbox } = cluster;
  const key = await makeVerifierKey('bench-1');
  const now = Date.now();
  for (let p = 0; p < POLICIES; p++) {
    const name = `ns-${p}`;
    sandbox.seed('', 'v1', 'namespaces', {
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name, team: `t${p}` } },
    });
    const policy = makePolicy(`policy-${p}`, key, { pool: `pool-${p}`, namespaces: [name] });
    // The bench outlasts the test policy's 5m freshness window.
    policy.spec.attestation.maxAge = '1h';
    sandbox.seed(TG.group, TG.version, 'endpointtrustpolicies', {
      ...policy,
      metadata: { name: policy.metadata.name, generation: 1 },
    });
  }
  const tokens = await Promise.all(
    Array.from({ length: NODES }, (_, n) => signAttestation(key, `node-${n}`, now)),
  );
  tokens.forEach((token, n) => {
    const name = `node-${n}`;
    sandbox.seed('', 'v1', 'nodes', {
      metadata: { name, labels: { pool: `pool-${n % POLICIES}` } },
    });
    sandbox.seed(TG.group, TG.version, 'nodeattestations', { metadata: { name }, spec: { token } });
  });
  for (let g = 0; g < GRANTS; g++) {
    const p = g % POLICIES;
    const grant = makeGrant(
      `grant-${g}`,
      `ns-${p}`,
      `sa-${Math.floor(g / POLICIES)}`,
      `policy-${p}`,
    );
    sandbox.seed(TG.group, TG.version, 'workloadgrants', {
      metadata: { name: grant.metadata.name, namespace: grant.metadata.namespace },
      spec: grant.spec,
    });
  }
  return key;
}

/**
 * Re-attests every node once within `windowMs`, evenly spread: a merge patch of
 * spec.token through the API, as a verifier's refresh arrives. Resolves with the number
 * of updates that failed.
 */
async function churnAttestations(
  cluster: BenchCluster,
  tokens: string[],
  windowMs: number,
): Promise<{ failed: number; lateMs: number }> {
  const start = performance.now();
  const step = windowMs / tokens.length;
  let failed = 0;
  let next = 0;
  let lateMs = 0;
  // A few writers in flight, each taking the next update once it is due.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < tokens.length; i = next++) {
        const due = start + i * step;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else lateMs = Math.max(lateMs, -wait);
        const name = `node-${i}`;
        await cluster.client
          .patch(resourcePath({ ...TG, plural: 'nodeattestations', name }), {
            spec: { token: tokens[i] },
          })
          .catch(() => {
            failed++;
          });
      }
    }),
  );
  return { failed, lateMs };
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

/** The bare baseline as a child process, serving with trustgate's own certificate. */
async function startBareServer(tls: { cert: string; key: string }) {
  const child = spawn(
    process.execPath,
    [...imageNodeFlags(), fileURLToPath(new URL('./lib/bare-https-server.ts', import.meta.url))],
    { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdin.end(JSON.stringify(tls));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`bare server exited (${code})`)));
  });
  return {
    port,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** The serving certificate, key and CA bundle trustgate keeps in its TLS Secret. */
async function servingMaterial(cluster: BenchCluster, p: TrustgateProcess) {
  const secretName = p.tlsSecret;
  const secret = await cluster.client.get<{ data: Record<string, string> }>(
    resourcePath({ version: 'v1', plural: 'secrets', namespace: SYSTEM_NS, name: secretName }),
  );
  const pem = (k: string) => Buffer.from(secret.data[k] ?? '', 'base64').toString('utf8');
  return { cert: pem('tls.crt'), key: pem('tls.key'), caPem: pem('ca.crt') };
}

/** Sends each body once; resolves when trustgate allows every one (its caches are warm). */
async function allAllowed(port: number, caPem: string, reviews: string[]): Promise<boolean> {
  const agent = new https.Agent({ keepAlive: true, ca: caPem, maxSockets: 8 });
  try {
    const answers = await Promise.all(
      reviews.map(
        (body) =>
          new Promise<boolean>((resolve) => {
            const req = https.request(
              { host: '127.0.0.1', port, path: '/validate', method: 'POST', agent },
              async (res) => {
                const out = JSON.parse(await text(res)) as { response?: { allowed?: boolean } };
                resolve(out.response?.allowed === true);
              },
            );
            req.on('error', () => resolve(false));
            req.setHeader('content-type', 'application/json');
            req.end(body);
          }),
      ),
    );
    return answers.every(Boolean);
  } finally {
    agent.destroy();
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      set: { type: 'string', multiple: true },
      seconds: { type: 'string', default: '5' },
      rate: { type: 'string', default: '1000' },
      concurrency: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '3' },
      'churn-seconds': { type: 'string', default: '15' },
    },
  });
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const churnSeconds = Number(values['churn-seconds']);

  const cluster = await startBenchCluster(chartSets(values.set));
  let bare: Awaited<ReturnType<typeof startBareServer>> | undefined;
  try {
    let t = performance.now();
    const key = await seedCluster(cluster);
    console.log(
      `seeded ${POLICIES} policies, ${NODES} nodes with signed attestations, ${GRANTS} grants in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    t = performance.now();
    const trustgate = await cluster.trustgate();
    const tls = await servingMaterial(cluster, trustgate);
    const reviewBodies = bodies(256);
    // Every review must take the full decision path and be allowed (trusted node, grant):
    // wait until trustgate has verified every attestation in its caches.
    const end = Date.now() + 180_000;
    while (!(await allAllowed(trustgate.webhookPort, tls.caPem, reviewBodies))) {
      if (Date.now() > end) throw new Error('trustgate did not allow every bench review');
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(
      `trustgate run ready, caches synced and every review allowed in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const sizes = reviewBodies.map((b) => b.length).sort((a, b) => a - b);
    console.log(
      `reviews: ${reviewBodies.length} pod CREATEs, ${((sizes[0] as number) / 1024).toFixed(1)}-${((sizes[sizes.length - 1] as number) / 1024).toFixed(1)} KB`,
    );
    bare = await startBareServer(tls);
    const servers = {
      bare: { port: bare.port, pid: bare.pid },
      trustgate: { port: trustgate.webhookPort, pid: trustgate.child.pid as number },
    };

    const job = (port: number, mode: 'open' | 'closed', secs = seconds): ClientJob => ({
      port,
      caPem: tls.caPem,
      bodies: reviewBodies,
      mode,
      seconds: secs,
      rate,
      concurrency,
    });
    const measure = async (
      label: string,
      server: keyof typeof servers,
      mode: 'open' | 'closed',
      opts: { seconds?: number; onMeasuring?: () => void } = {},
    ) => {
      const { port, pid } = servers[server];
      const r = await runClient(job(port, mode, opts.seconds), pid, opts.onMeasuring);
      const sorted = [...r.latenciesMs].sort((a, b) => a - b);
      const rps = r.completed / r.elapsedS;
      console.log(
        `${label.padEnd(34)} ${Math.round(rps).toString().padStart(6)} req/s  p50 ${percentile(sorted, 0.5)?.toFixed(2)} ms  p99 ${percentile(sorted, 0.99)?.toFixed(2)} ms  max ${sorted[sorted.length - 1]?.toFixed(2)} ms  errors ${r.errors}  denied ${r.denied}  server cpu ${r.serverCpuUs?.toFixed(0)} us/req${r.sendLagP99Ms === undefined ? '' : `  (client send lag p99 ${r.sendLagP99Ms.toFixed(2)} ms)`}`,
      );
      return {
        rps,
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        errors: r.errors,
        denied: r.denied,
        cpuUs: r.serverCpuUs ?? Number.NaN,
      };
    };

    // Alternate the two servers in every round; report medians over rounds, so a burst of
    // load from elsewhere on the machine moves the spread, not the figure.
    type Figures = Awaited<ReturnType<typeof measure>>;
    const runs: { bareOpen: Figures; hookOpen: Figures; barePeak: Figures; hookPeak: Figures }[] =
      [];
    for (let round = 1; round <= rounds; round++) {
      console.log(`round ${round}/${rounds}`);
      runs.push({
        bareOpen: await measure(`  bare https, open loop ${rate}/s`, 'bare', 'open'),
        hookOpen: await measure(`  trustgate, open loop ${rate}/s`, 'trustgate', 'open'),
        barePeak: await measure(`  bare https, closed loop c=${concurrency}`, 'bare', 'closed'),
        hookPeak: await measure(`  trustgate, closed loop c=${concurrency}`, 'trustgate', 'closed'),
      });
    }
    const med = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return {
        median: s[Math.floor((s.length - 1) / 2)] as number,
        min: s[0] as number,
        max: s.at(-1) as number,
      };
    };
    const p50 = med(runs.map((r) => r.hookOpen.p50));
    const p99 = med(runs.map((r) => r.hookOpen.p99));
    const bareP99 = med(runs.map((r) => r.bareOpen.p99));
    const peak = med(runs.map((r) => r.hookPeak.rps));
    const barePeak = med(runs.map((r) => r.barePeak.rps));
    const ratio = med(runs.map((r) => r.hookPeak.rps / r.barePeak.rps));
    const cpu = med(runs.map((r) => r.hookPeak.cpuUs));
    const bareCpu = med(runs.map((r) => r.barePeak.cpuUs));
    const errors = runs.reduce((n, r) => n + r.hookOpen.errors + r.hookPeak.errors, 0);
    const span = (m: { min: number; max: number }, digits = 2) =>
      `${m.min.toFixed(digits)}-${m.max.toFixed(digits)}`;
    console.log(
      `medians over ${rounds} rounds (range): trustgate p50 ${p50.median.toFixed(2)} ms, p99 ${p99.median.toFixed(2)} ms (${span(p99)}) at ${rate}/s; bare p99 ${bareP99.median.toFixed(2)} ms`,
    );
    console.log(
      `peak: trustgate ${Math.round(peak.median)} req/s (${span(peak, 0)}), bare ${Math.round(barePeak.median)} req/s (${span(barePeak, 0)}); trustgate = ${(100 * ratio.median).toFixed(0)} % of the bare server (${span({ min: 100 * ratio.min, max: 100 * ratio.max }, 0)} %); server cpu ${cpu.median.toFixed(0)} vs ${bareCpu.median.toFixed(0)} us/review`,
    );
    if (errors > 0) console.log(`WARNING: ${errors} failed requests`);

    // Attestation churn: every node gets a new token within the window while reviews for
    // trusted nodes keep coming; a pending signature check must not turn into a denial.
    console.log(
      `churn: ${NODES} re-attestations in ${churnSeconds} s (${Math.round(NODES / churnSeconds)}/s; a 2-minute refresh is ${Math.round(NODES / 120)}/s)`,
    );
    const fresh = await Promise.all(
      Array.from({ length: NODES }, (_, n) => signAttestation(key, `node-${n}`, Date.now())),
    );
    const quiet = await measure(`  trustgate, open loop, no churn`, 'trustgate', 'open', {
      seconds: churnSeconds,
    });
    let churning: Promise<{ failed: number; lateMs: number }> | undefined;
    const busy = await measure(`  trustgate, open loop, churn`, 'trustgate', 'open', {
      seconds: churnSeconds,
      onMeasuring: () => {
        churning = churnAttestations(cluster, fresh, churnSeconds * 1000);
      },
    });
    const churned = await churning;
    console.log(
      `churn: ${NODES - (churned?.failed ?? NODES)} attestations updated (${churned?.failed} failed, writer late by up to ${churned?.lateMs.toFixed(0)} ms); spurious denials ${busy.denied} (without churn ${quiet.denied}); p99 ${busy.p99.toFixed(2)} ms with churn vs ${quiet.p99.toFixed(2)} ms without`,
    );
    console.log(
      JSON.stringify({
        bench: 'admission',
        p50_ms: Number(p50.median.toFixed(3)),
        p99_ms: Number(p99.median.toFixed(3)),
        p99_ms_range: [Number(p99.min.toFixed(3)), Number(p99.max.toFixed(3))],
        rate,
        peak_rps: Math.round(peak.median),
        baseline_peak_rps: Math.round(barePeak.median),
        peak_ratio: Number(ratio.median.toFixed(3)),
        peak_ratio_range: [Number(ratio.min.toFixed(3)), Number(ratio.max.toFixed(3))],
        rounds,
        churn_nodes: NODES,
        churn_seconds: churnSeconds,
        churn_spurious_denials: busy.denied,
        churn_p99_ms: Number(busy.p99.toFixed(3)),
        no_churn_p99_ms: Number(quiet.p99.toFixed(3)),
        no_churn_denials: quiet.denied,
      }),
    );
  } finally {
    await bare?.stop();
    await cluster.stop();
  }
}
