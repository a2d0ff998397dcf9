// What the webhook would decide for each pod in a set of manifests, offline. The manifests
// fill the same AdmissionCaches the webhook reads (snapshotCaches + a TrustIndex), and each
// pod goes through admit() as a pods CREATE review: one decision path, not a second one.

import { admit } from '../../webhook/admit.ts';
import { snapshotCaches } from '../../webhook/caches.ts';
import { decodeAdmissionReview, type Verdict } from '../../webhook/codec.ts';
import type {
  EndpointTrustPolicy,
  NodeAttestation,
  TrustExemption,
  WorkloadGrant,
} from '../api/types.generated.ts';
import { type Labels, parseTimestamp, type SecretData, TrustIndex } from '../trust/index.ts';
import { UsageError } from './io.ts';
import { checked, kindOf, secretData } from './manifests.ts';
import { expand, readDocuments } from './read-input.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where each workload kind keeps its pod template. */
const TEMPLATE_PATHS: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** A pod to judge and the manifest it came from. */
export interface WorkloadPod {
  kind: string;
  namespace: string;
  name: string;
  file: string;
  pod: Obj;
}

export interface OfflineInputs {
  policies: EndpointTrustPolicy[];
  grants: WorkloadGrant[];
  attestations: NodeAttestation[];
  exemptions: TrustExemption[];
  namespaces: Record<string, Labels>;
  nodes: Map<string, Labels>;
  secrets: Map<string, SecretData>;
  pods: WorkloadPod[];
}

/** The pod a workload manifest creates: its template, with the workload's namespace. */
export function podOf(doc: Obj, file: string): WorkloadPod | undefined {
  const kind = kindOf(doc) ?? '';
  const meta = isObj(doc.metadata) ? doc.metadata : {};
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  const name = typeof meta.name === 'string' ? meta.name : '<unnamed>';
  let pod: unknown;
  if (kind === 'Pod') pod = doc;
  else if (TEMPLATE_PATHS[kind]) {
    pod = TEMPLATE_PATHS[kind].reduce<unknown>((at, k) => (isObj(at) ? at[k] : undefined), doc);
    if (!isObj(pod)) throw new UsageError(`${file}: ${kind}/${name} has no pod template`);
  } else return undefined;
  const p = pod as Obj;
  const podMeta = isObj(p.metadata) ? p.metadata : {};
  return {
    kind,
    namespace,
    name,
    file,
    pod: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...podMeta, name, namespace },
      spec: isObj(p.spec) ? p.spec : {},
    },
  };
}

/** Reads every document of the files and directories into the inputs of a decision. */
export async function loadInputs(paths: string[]): Promise<OfflineInputs> {
  const inputs: OfflineInputs = {
    policies: [],
    grants: [],
    attestations: [],
    exemptions: [],
    namespaces: {},
    nodes: new Map(),
    secrets: new Map(),
    pods: [],
  };
  for (const file of (await Promise.all(paths.map(expand))).flat()) {
    for (const doc of await readDocuments(file)) {
      if (!isObj(doc)) continue;
      const meta = isObj(doc.metadata) ? doc.metadata : {};
      const labels = isObj(meta.labels) ? (meta.labels as Record<string, string>) : undefined;
      const kind = kindOf(doc);
      // trustgate's own kinds are checked against their schemas, then collected by kind.
      const collected = {
        EndpointTrustPolicy: inputs.policies,
        WorkloadGrant: inputs.grants,
        NodeAttestation: inputs.attestations,
        TrustExemption: inputs.exemptions,
      }[kind ?? ''] as unknown[] | undefined;
      if (collected) {
        collected.push(checked(file, doc));
        continue;
      }
      switch (kind) {
        case 'Namespace':
          inputs.namespaces[String(meta.name)] = labels ?? {};
          break;
        case 'Node':
          inputs.nodes.set(String(meta.name), labels ?? {});
          break;
        case 'Secret':
          inputs.secrets.set(`${meta.namespace ?? ''}/${meta.name ?? ''}`, secretData(doc));
          break;
        default: {
          const pod = podOf(doc, file);
          if (pod) inputs.pods.push(pod);
        }
      }
    }
  }
  return inputs;
}

export interface PodResult {
  kind: string;
  namespace: string;
  name: string;
  /** spec.nodeName, or "unscheduled" (then the node is judged when the pod is bound). */
  node: string;
  allowed: boolean;
  /** The webhook's denial message. */
  message?: string;
  reasons: string[];
  warnings: string[];
  policies: string[];
  exempted?: Verdict['exempted'];
}

export interface OfflineOptions {
  now: number;
  /** trustgate's namespace: its TrustExemptions reach every namespace. */
  trustgateNamespace: string;
  /** The API server's default token audiences, as `trustgate run --api-audiences`. */
  apiAudiences?: string[];
}

/** The webhook's verdict on each pod. */
export async function decidePods(inputs: OfflineInputs, o: OfflineOptions): Promise<PodResult[]> {
  const trust = new TrustIndex({ defaultSecretNamespace: o.trustgateNamespace });
  for (const [key, data] of inputs.secrets) {
    const [ns, name] = key.split('/') as [string, string];
    trust.upsertJwksSecret(ns || o.trustgateNamespace, name, data);
  }
  for (const p of inputs.policies) trust.upsertPolicy(p);
  // A node with an attestation but no Node manifest is in no policy's pool.
  for (const [name, labels] of inputs.nodes) trust.upsertNode(name, labels);
  for (const a of inputs.attestations) {
    if (!inputs.nodes.has(a.metadata.name ?? '')) trust.upsertNode(a.metadata.name ?? '', {});
    trust.upsertAttestation(a);
  }
  await trust.settled();
  // A namespace without a manifest has only its name label (as the API server sets it).
  const namespaces = { ...inputs.namespaces };
  for (const p of inputs.pods) namespaces[p.namespace] ??= {};
  const caches = snapshotCaches({
    policies: inputs.policies,
    grants: inputs.grants,
    namespaces,
    exemptions: inputs.exemptions,
    trustgateNamespace: o.trustgateNamespace,
    trust,
  });
  const config = o.apiAudiences ? { apiAudiences: o.apiAudiences } : undefined;
  const results: PodResult[] = [];
  for (const [i, p] of inputs.pods.entries()) {
    const request = decodeAdmissionReview({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: `offline-${i}`,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        name: p.name,
        namespace: p.namespace,
        operation: 'CREATE',
        userInfo: { username: 'trustgate-evaluate' },
        object: p.pod,
      },
    });
    const verdict = await admit(request, caches, o.now, config);
    const nodeName = (p.pod.spec as Obj).nodeName;
    results.push({
      kind: p.kind,
      namespace: p.namespace,
      name: p.name,
      node: typeof nodeName === 'string' && nodeName ? nodeName : 'unscheduled',
      allowed: verdict.allowed,
      ...(verdict.allowed ? {} : { message: verdict.message }),
      reasons: verdict.reasonCodes,
      warnings: verdict.warnings,
      policies: verdict.policies,
      ...(verdict.exempted ? { exempted: verdict.exempted } : {}),
    });
  }
  return results;
}

export function parseNow(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const now = parseTimestamp(text);
  if (now === undefined) throw new UsageError(`--now ${text} is not an RFC 3339 time`);
  return now;
}

/** One result as text: verdict, workload, node, then the reasons and warnings. */
export function describeResult(r: PodResult): string {
  const head = `${r.allowed ? 'ALLOWED' : 'DENIED '} ${r.kind} ${r.namespace}/${r.name} (node ${r.node})`;
  const lines = [head];
  if (r.message) lines.push(`  ${r.message}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}
