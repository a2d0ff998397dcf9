// kstatus-style Ready conditions on all three kinds, read the way GitOps tools and admins
// read them (`kubectl wait --for=condition=Ready`), and JWKS Secrets in another namespace
// (jwksSecretRef.namespace), rotation included.

import { beforeEach, describe, expect, it } from '@jest/globals';
import { exportJWK } from 'jose';
import { resourcePath } from '../../../operator/kube/rest.ts';
import { ensureNamespace } from '../../support/namespace.ts';
import { makeKey, type TestKey } from '../../unit/trust/fixtures.ts';
import {
  attest,
  createGrant,
  createNode,
  createPolicy,
  createServiceAccount,
  type Env,
  getObject,
  policyObject,
  waitFor,
  withOperator,
} from './harness.ts';

const started = withOperator();
let env: Env;
beforeEach(() => {
  ({ env } = started());
});

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface Observed {
  metadata: { generation: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/** `kubectl wait --for=condition=Ready[=False]`, as an admin or a CI job runs it. */
async function kubectlWait(resource: string, ready: boolean, namespace?: string) {
  const res = await env.cluster.kubectl([
    'wait',
    `--for=condition=Ready${ready ? '' : '=False'}`,
    resource,
    '--timeout=30s',
    ...(namespace ? ['-n', namespace] : []),
  ]);
  expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
}

/** The Ready condition, checked for observedGeneration on it and on status. */
async function ready(plural: string, name: string, namespace?: string): Promise<Condition> {
  const o = await getObject<Observed>(env, plural, name, namespace);
  const c = o.status?.conditions?.find((x) => x.type === 'Ready');
  if (!c) throw new Error(`${plural}/${name} has no Ready condition`);
  expect(o.status?.observedGeneration).toBe(o.metadata.generation);
  for (const each of o.status?.conditions ?? []) {
    expect(each.observedGeneration).toBe(o.metadata.generation);
  }
  return c;
}

function withVerifier(
  policy: ReturnType<typeof policyObject>,
  verifier: Record<string, unknown>,
): ReturnType<typeof policyObject> {
  const [{ jwks: _inline, ...v } = { jwks: undefined }] = policy.spec.attestation.verifiers;
  const verifiers = [{ ...v, ...verifier }];
  return {
    ...policy,
    spec: { ...policy.spec, attestation: { ...policy.spec.attestation, verifiers } },
  } as unknown as ReturnType<typeof policyObject>;
}

async function putJwksSecret(namespace: string, name: string, keys: unknown[]) {
  const collection = resourcePath({ version: 'v1', plural: 'secrets', namespace });
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    data: { 'jwks.json': Buffer.from(JSON.stringify({ keys })).toString('base64') },
  };
  try {
    await env.client.replace(`${collection}/${name}`, body);
  } catch {
    await env.client.create(collection, body);
  }
}

const trustedBy = async (node: string) =>
  (await getObject<{ status?: { trustedBy?: string } }>(env, 'nodeattestations', node)).status
    ?.trustedBy;

describe('Ready conditions', () => {
  it('a policy with usable keys is Ready; its verified attestation is Ready', async () => {
    const policy = `p-${env.id}-ok`;
    await createPolicy(env, policyObject(env, policy));
    await kubectlWait(`endpointtrustpolicy/${policy}`, true);
    expect((await ready('endpointtrustpolicies', policy)).reason).toBe('Reconciled');

    await createNode(env, `${policy}-n1`, policy);
    await attest(env, `${policy}-n1`);
    await kubectlWait(`nodeattestation/${policy}-n1`, true);
    expect((await ready('nodeattestations', `${policy}-n1`)).message).toContain('corp-edr');
  });

  it('an attestation signed by a key no policy holds is Ready=False', async () => {
    const policy = `p-${env.id}-ok`;
    const node = `${policy}-n2`;
    await createNode(env, node, policy);
    const stranger = await makeKey('stranger');
    await attest({ ...env, key: stranger }, node);
    await kubectlWait(`nodeattestation/${node}`, false);
    const c = await ready('nodeattestations', node);
    expect(c.reason).toBe('UnknownKey');
    expect(c.message).toContain('stranger');
  });

  it('a policy whose JWKS Secret is missing is Ready=False until the Secret appears', async () => {
    const policy = `p-${env.id}-nosecret`;
    const secret = `keys-${env.id}-later`;
    await createPolicy(
      env,
      withVerifier(policyObject(env, policy), { jwksSecretRef: { name: secret } }),
    );
    await kubectlWait(`endpointtrustpolicy/${policy}`, false);
    const c = await ready('endpointtrustpolicies', policy);
    expect(c.reason).toBe('JwksSecretNotFound');
    expect(c.message).toContain(`trustgate-system/${secret}`);

    await putJwksSecret('trustgate-system', secret, [env.key.publicJwk]);
    await kubectlWait(`endpointtrustpolicy/${policy}`, true);
  });

  it('a policy holding a private JWK is Ready=False and never uses it', async () => {
    const policy = `p-${env.id}-private`;
    const leaked = { ...(await exportJWK(env.key.privateKey)), kid: env.key.kid };
    await createPolicy(env, withVerifier(policyObject(env, policy), { jwks: { keys: [leaked] } }));
    await kubectlWait(`endpointtrustpolicy/${policy}`, false);
    const c = await ready('endpointtrustpolicies', policy);
    expect(c.reason).toBe('PrivateKeyInJwks');
    expect(c.message).not.toContain(String(leaked.d));
  });

  it('a grant naming a missing policy is Ready=False, then Ready once the policy exists', async () => {
    const policy = `p-${env.id}-late`;
    await createServiceAccount(env, 'late');
    await createGrant(env, 'late', 'late', policy);
    await kubectlWait('workloadgrant/late', false, env.ns);
    expect((await ready('workloadgrants', 'late', env.ns)).reason).toBe('PolicyNotFound');

    await createPolicy(env, policyObject(env, policy));
    await kubectlWait('workloadgrant/late', true, env.ns);
    expect((await ready('workloadgrants', 'late', env.ns)).reason).toBe('Active');
  });
});

describe('jwksSecretRef in another namespace', () => {
  it('verifies attestations with its keys, and a rotation takes effect', async () => {
    const policy = `p-${env.id}-xns`;
    const keysNs = `tg-keys-${env.id}`;
    await ensureNamespace(env.client, keysNs);
    await putJwksSecret(keysNs, 'verifier-keys', [env.key.publicJwk]);
    await createPolicy(
      env,
      withVerifier(policyObject(env, policy), {
        jwksSecretRef: { name: 'verifier-keys', namespace: keysNs },
      }),
    );
    await kubectlWait(`endpointtrustpolicy/${policy}`, true);
    const node = `${policy}-n1`;
    await createNode(env, node, policy);
    await attest(env, node);
    await waitFor(
      async () => (await trustedBy(node)) === policy,
      'node trusted with keys from another namespace',
    );

    // Rotate: the Secret now holds only a new key. The old token no longer verifies…
    const next: TestKey = await makeKey('edr-2');
    await putJwksSecret(keysNs, 'verifier-keys', [next.publicJwk]);
    await kubectlWait(`nodeattestation/${node}`, false);
    expect((await ready('nodeattestations', node)).reason).toBe('UnknownKey');
    // …and one signed with the new key does.
    await attest({ ...env, key: next }, node);
    await kubectlWait(`nodeattestation/${node}`, true);
    await waitFor(async () => (await trustedBy(node)) === policy, 'node trusted after rotation');
  });
});
