// A namespace pods can be created in. On a real cluster kube-controller-manager creates
// the namespace's `default` ServiceAccount a few seconds after the namespace, and until
// then the ServiceAccount admission plugin refuses every pod that uses it.
import { isNotFound, type KubeClient } from '../../operator/kube/rest.ts';

export async function ensureNamespace(
  client: KubeClient,
  name: string,
  labels: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<void> {
  try {
    await client.get(`/api/v1/namespaces/${name}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await client.create('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels },
    });
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.get(`/api/v1/namespaces/${name}/serviceaccounts/default`);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      if (Date.now() > deadline) {
        throw new Error(`namespace ${name} has no default ServiceAccount after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
