// The verifier's two API calls: read the nonce trustgate published for a node, and write
// the node's NodeAttestation (create it the first time, then replace spec.token). Only
// NodeAttestation get/create/update are used, so the `trustgate-verifier` role suffices.
import { GROUP, VERSION } from '../api/crds.ts';
import type { NodeAttestation } from '../api/types.generated.ts';
import { isConflict, type KubeClient, resourcePath } from '../kube/rest.ts';

const collection = resourcePath({ group: GROUP, version: VERSION, plural: 'nodeattestations' });
/** A status write by trustgate between our get and put: read again and retry, a few times. */
const CONFLICT_RETRIES = 5;

/** The node's NodeAttestation, or undefined when it has none yet. */
export async function readAttestation(
  client: KubeClient,
  node: string,
): Promise<NodeAttestation | undefined> {
  return client.getIfExists<NodeAttestation>(`${collection}/${node}`);
}

/** Creates or updates NodeAttestation/<node> with the token; returns what the server stored. */
export async function applyAttestation(
  client: KubeClient,
  node: string,
  token: string,
): Promise<NodeAttestation> {
  for (let attempt = 0; ; attempt++) {
    const current = await readAttestation(client, node);
    const body = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'NodeAttestation',
      metadata: {
        name: node,
        ...(current ? { resourceVersion: current.metadata.resourceVersion } : {}),
      },
      spec: { token },
    };
    try {
      return current
        ? await client.replace<NodeAttestation>(`${collection}/${node}`, body)
        : await client.create<NodeAttestation>(collection, body);
    } catch (err) {
      // 409 on update: trustgate wrote status meanwhile; on create: someone created it.
      if (!isConflict(err) || attempt >= CONFLICT_RETRIES) throw err;
    }
  }
}
