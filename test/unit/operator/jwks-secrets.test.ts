import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { EndpointTrustPolicy } from '../../../operator/api/types.generated.ts';
import { JwksSecretWatches, jwksSecretRefs } from '../../../operator/kube/jwks-secrets.ts';
import { KubeClient } from '../../../operator/kube/rest.ts';
import { FakeApiServer } from './fake-apiserver.ts';

const policy = (refs: { name: string; namespace?: string }[]) =>
  ({
    metadata: { name: 'p' },
    spec: {
      attestation: {
        verifiers: refs.map((r, i) => ({ name: `v${i}`, issuer: 'i', jwksSecretRef: r })),
      },
    },
  }) as unknown as EndpointTrustPolicy;

describe('jwksSecretRefs', () => {
  it('names each Secret once, in its namespace or trustgate’s', () => {
    expect(
      jwksSecretRefs(
        [policy([{ name: 'a' }, { name: 'b', namespace: 'keys' }]), policy([{ name: 'a' }])],
        'tg',
      ),
    ).toEqual([
      { namespace: 'tg', name: 'a' },
      { namespace: 'keys', name: 'b' },
    ]);
  });
});

describe('JwksSecretWatches', () => {
  const OK = '/api/v1/namespaces/keys/secrets';
  const REFUSED = '/api/v1/namespaces/locked/secrets';
  let server: FakeApiServer;
  let client: KubeClient;
  let watches: JwksSecretWatches;
  const sink: string[] = [];

  beforeEach(async () => {
    server = (await new FakeApiServer().start()).collection(OK).collection(REFUSED);
    client = new KubeClient(server.kubeConfig());
    sink.length = 0;
    watches = new JwksSecretWatches({
      client,
      informer: { backoff: { initialMs: 20, maxMs: 100 } },
      sink: {
        upsert: (ns, name, data) => sink.push(`upsert ${ns}/${name} ${Object.keys(data ?? {})}`),
        delete: (ns, name) => sink.push(`delete ${ns}/${name}`),
        pending: (ns, name, pending) => sink.push(`${pending ? 'pending' : 'read'} ${ns}/${name}`),
      },
    });
  });
  afterEach(async () => {
    await watches.stop();
    client.close();
    await server.stop();
  });

  it('watches only the named Secrets by name, reports a refusal, and forgets unnamed ones', async () => {
    server.put(OK, { metadata: { name: 'verifier' }, data: { 'jwks.json': 'e30=' } });
    server.fail({ status: 403, match: (_m, path) => path.startsWith(REFUSED) }, 1000);
    const changed: string[] = [];
    watches.onChange((r) => changed.push(`${r.namespace}/${r.name}`));
    watches.follow([
      { namespace: 'keys', name: 'verifier' },
      { namespace: 'locked', name: 'other' },
    ]);
    watches.start();
    expect(await watches.waitForSync()).toBe(true);

    expect(sink.filter((e) => e.startsWith('upsert'))).toEqual(['upsert keys/verifier jwks.json']);
    // Both stop being pending: one was read, the other refused.
    expect(sink.filter((e) => !e.startsWith('upsert')).sort()).toEqual([
      'pending keys/verifier',
      'pending locked/other',
      'read keys/verifier',
      'read locked/other',
    ]);
    expect(watches.accessProblem({ namespace: 'locked', name: 'other' })?.statusCode).toBe(403);
    expect(watches.accessProblem({ namespace: 'keys', name: 'verifier' })).toBeUndefined();
    expect(changed).toContain('locked/other');
    const listed = server.requests.filter((r) => r.path === OK && !r.watch);
    expect(listed[0]?.query.get('fieldSelector')).toBe('metadata.name=verifier');

    watches.follow([]);
    expect(sink).toContain('delete keys/verifier');
    expect(watches.informers()).toHaveLength(0);
  });
});
