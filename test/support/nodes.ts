// A node the scheduler can use, brought up as a kubelet brings it up: the kubelet of
// hack/sandbox/kubelet.ts (system:node credentials) registers it and reports it Ready with
// capacity. On a real API server, TaintNodesByCondition admission gives every new Node
// node.kubernetes.io/not-ready:NoSchedule, and kube-controller-manager's node lifecycle
// controller lifts it once the kubelet reports Ready. The real tier runs kcm without that
// controller (these kubelets send no heartbeats, so it would soon mark every node
// unreachable), so the test does what the controller would, as admin. The sandbox adds no
// such taint; there the step finds nothing to do.
import { type Kubelet, startKubelet } from '../../hack/sandbox/kubelet.ts';
import { isConflict, KubeClient } from '../../operator/kube/rest.ts';
import type { TestCluster } from './cluster.ts';

const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

interface NodeObject {
  metadata: { resourceVersion?: string };
  spec?: { taints?: { key: string; effect: string }[] };
  status?: {
    conditions?: { type: string; status: string }[];
    allocatable?: Record<string, string>;
  };
}

const isReady = (n: NodeObject) =>
  n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true &&
  Boolean(n.status.allocatable?.pods);

export async function startReadyNode(
  cluster: Pick<TestCluster, 'kubeConfig' | 'nodeKubeConfig'>,
  name: string,
  labels: Record<string, string>,
  timeoutMs = 30_000,
): Promise<Kubelet> {
  const kubelet = startKubelet({
    kubeConfig: await cluster.nodeKubeConfig(name),
    nodeName: name,
    register: { labels },
  });
  const client = new KubeClient(cluster.kubeConfig);
  const path = `/api/v1/nodes/${name}`;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const node = await client.get<NodeObject>(path).catch(() => undefined);
      if (node && isReady(node)) {
        const taints = node.spec?.taints ?? [];
        const kept = taints.filter((t) => t.key !== NOT_READY_TAINT);
        if (kept.length === taints.length) return kubelet;
        try {
          // Taints are replaced whole; the resourceVersion keeps trustgate's own taint safe.
          await client.patch(path, {
            metadata: { resourceVersion: node.metadata.resourceVersion },
            spec: { taints: kept },
          });
          return kubelet;
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
      if (Date.now() > deadline) throw new Error(`node ${name} not Ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await kubelet.stop();
    throw err;
  } finally {
    client.close();
  }
}
