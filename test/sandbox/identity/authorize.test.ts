// The sandbox authorizer and NodeRestriction: who may do what, with kube's wording.
import { describe, expect, it } from '@jest/globals';
import type { AdmissionAttributes } from '../../../hack/sandbox/admission.ts';
import { nodeRestriction } from '../../../hack/sandbox/identity/node-restriction.ts';
import type { AuthorizationRequest } from '../../../hack/sandbox/tokens.ts';
import {
  ANONYMOUS,
  authorize,
  authorizeNonResource,
  StaticUsers,
} from '../../../hack/sandbox/users.ts';
import { FakeStore, pod, R } from './fake-store.ts';

const store = new FakeStore();
store.put(
  R.pods,
  pod('team-a', 'job-1', {
    serviceAccountName: 'runner',
    nodeName: 'n1',
    volumes: [{ name: 's', secret: { secretName: 'db-creds' } }],
  }),
);

const req = (over: Partial<AuthorizationRequest>): AuthorizationRequest => ({
  verb: 'get',
  group: '',
  resource: 'pods',
  subresource: '',
  namespace: 'team-a',
  name: '',
  ...over,
});

const node = (name: string) => ({
  username: `system:node:${name}`,
  groups: ['system:nodes', 'system:authenticated'],
});
const sa = {
  username: 'system:serviceaccount:team-a:runner',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'],
};

describe('authorize', () => {
  it('lets system:masters do anything', () => {
    expect(
      authorize(
        { username: 'kubernetes-admin', groups: ['system:masters'] },
        req({ verb: 'deletecollection', resource: 'secrets' }),
        store,
      ),
    ).toBeNull();
  });

  it('denies service accounts with the RBAC message, namespaced and cluster-scoped', () => {
    expect(authorize(sa, req({ verb: 'list' }), store)).toBe(
      'User "system:serviceaccount:team-a:runner" cannot list resource "pods" in API group "" in the namespace "team-a"',
    );
    expect(
      authorize(
        sa,
        req({ verb: 'patch', resource: 'nodes', subresource: 'status', namespace: '', name: 'n1' }),
        store,
      ),
    ).toBe(
      'User "system:serviceaccount:team-a:runner" cannot patch resource "nodes/status" in API group "" at the cluster scope',
    );
    expect(
      authorize(
        sa,
        req({
          verb: 'create',
          group: 'authentication.k8s.io',
          resource: 'selfsubjectreviews',
          namespace: '',
        }),
        store,
      ),
    ).toBeNull();
  });

  it("gives non-resource paths to kube's default roles: public info, discovery, issuer", () => {
    expect(authorizeNonResource(ANONYMOUS, 'get', '/version')).toBeNull();
    expect(authorizeNonResource(ANONYMOUS, 'get', '/readyz')).toBeNull();
    expect(authorizeNonResource(ANONYMOUS, 'get', '/api')).toBe(
      'forbidden: User "system:anonymous" cannot get path "/api"',
    );
    expect(authorizeNonResource(sa, 'get', '/apis/apps/v1')).toBeNull();
    expect(authorizeNonResource(sa, 'get', '/openid/v1/jwks')).toBeNull();
    const node = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
    expect(authorizeNonResource(node, 'get', '/openid/v1/jwks')).toBe(
      'forbidden: User "system:node:n1" cannot get path "/openid/v1/jwks"',
    );
  });

  it('applies extra grants to their subjects only', () => {
    const grants = [
      {
        subjects: ['system:serviceaccounts:team-a'],
        rules: [{ verbs: ['list'], apiGroups: [''], resources: ['pods'], namespaces: ['team-a'] }],
      },
    ];
    expect(authorize(sa, req({ verb: 'list' }), store, { grants })).toBeNull();
    expect(
      authorize(sa, req({ verb: 'list', namespace: 'other' }), store, { grants }),
    ).not.toBeNull();
    expect(authorize(sa, req({ verb: 'delete', name: 'job-1' }), store, { grants })).not.toBeNull();
  });

  it('gives a kubelet the system:node rights, narrowed to objects related to its pods', () => {
    expect(authorize(node('n1'), req({ verb: 'watch' }), store)).toBeNull();
    expect(
      authorize(
        node('n1'),
        req({ verb: 'create', resource: 'serviceaccounts', subresource: 'token', name: 'runner' }),
        store,
      ),
    ).toBeNull();
    expect(
      authorize(
        node('n2'),
        req({ verb: 'create', resource: 'serviceaccounts', subresource: 'token', name: 'runner' }),
        store,
      ),
    ).toBe(
      `User "system:node:n2" cannot create resource "serviceaccounts/token" in API group "" in the namespace "team-a": no relationship found between node 'n2' and this object`,
    );
    expect(authorize(node('n1'), req({ resource: 'secrets', name: 'db-creds' }), store)).toBeNull();
    expect(authorize(node('n1'), req({ resource: 'secrets', name: 'other' }), store)).toContain(
      'no relationship found',
    );
    expect(authorize(node('n1'), req({ verb: 'list', resource: 'secrets' }), store)).toBe(
      'User "system:node:n1" cannot list resource "secrets" in API group "" in the namespace "team-a"',
    );
    expect(
      authorize(
        node('n1'),
        req({
          verb: 'create',
          resource: 'validatingwebhookconfigurations',
          group: 'admissionregistration.k8s.io',
          namespace: '',
        }),
        store,
      ),
    ).not.toBeNull();
  });

  it('gives the scheduler bindings but not secrets', () => {
    const scheduler = { username: 'system:kube-scheduler', groups: ['system:authenticated'] };
    expect(
      authorize(scheduler, req({ verb: 'create', subresource: 'binding', name: 'job-1' }), store),
    ).toBeNull();
    expect(
      authorize(scheduler, req({ resource: 'secrets', name: 'db-creds' }), store),
    ).not.toBeNull();
  });
});

describe('StaticUsers', () => {
  it('knows its tokens and nothing else, and refuses odd node names', () => {
    const users = new StaticUsers();
    expect(users.lookup(users.adminToken)?.groups).toContain('system:masters');
    expect(users.lookup(users.nodeToken('n1'))?.username).toBe('system:node:n1');
    expect(users.lookup(`${users.adminToken}x`)).toBeUndefined();
    expect(() => users.nodeToken('Bad Name')).toThrow('invalid node name');
  });
});

const attrs = (over: Partial<AdmissionAttributes>): AdmissionAttributes => ({
  uid: 'u',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  subResource: '',
  requestKind: { group: '', version: 'v1', kind: 'Pod' },
  requestResource: { group: '', version: 'v1', resource: 'pods' },
  requestSubResource: '',
  name: 'job-1',
  namespace: 'team-a',
  operation: 'DELETE',
  userInfo: node('n1'),
  object: null,
  oldObject: store.get(R.pods, 'team-a', 'job-1') ?? null,
  dryRun: false,
  options: null,
  ...over,
});

describe('NodeRestriction', () => {
  it('lets a kubelet delete and update status of its own pods only', () => {
    expect(nodeRestriction(attrs({}), store)).toBeNull();
    expect(nodeRestriction(attrs({ userInfo: node('n2') }), store)?.message).toBe(
      'pods "job-1" is forbidden: node "n2" can only delete pods with spec.nodeName set to itself',
    );
    expect(
      nodeRestriction(
        attrs({ userInfo: node('n2'), operation: 'UPDATE', subResource: 'status' }),
        store,
      )?.message,
    ).toBe(
      'pods "job-1" is forbidden: node "n2" can only update pod status for pods with spec.nodeName set to itself',
    );
  });

  it('lets a kubelet create only mirror pods', () => {
    const created = attrs({
      operation: 'CREATE',
      oldObject: null,
      object: pod('team-a', 'x', { nodeName: 'n1' }),
    });
    expect(nodeRestriction(created, store)?.message).toBe(
      'pods "job-1" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
    );
  });

  it('checks the pod binding of token requests', () => {
    const token = (boundObjectRef?: Record<string, string>) =>
      attrs({
        operation: 'CREATE',
        resource: { group: '', version: 'v1', resource: 'serviceaccounts' },
        subResource: 'token',
        name: 'runner',
        object: { metadata: { name: 'runner' }, spec: { boundObjectRef } },
      });
    const uid = store.get(R.pods, 'team-a', 'job-1')?.metadata.uid ?? '';
    expect(nodeRestriction(token(), store)?.message).toBe(
      'serviceaccounts "runner" is forbidden: node requested token not bound to a pod',
    );
    expect(
      nodeRestriction(token({ apiVersion: 'v1', kind: 'Pod', name: 'job-1' }), store)?.message,
    ).toBe(
      'serviceaccounts "runner" is forbidden: node requested token with a pod binding without a uid',
    );
    expect(
      nodeRestriction(token({ apiVersion: 'v1', kind: 'Pod', name: 'job-1', uid: 'old' }), store)
        ?.message,
    ).toContain('does not match the UID in record');
    expect(
      nodeRestriction(token({ apiVersion: 'v1', kind: 'Pod', name: 'gone', uid: 'x' }), store),
    ).toMatchObject({ code: 404 });
    expect(
      nodeRestriction(token({ apiVersion: 'v1', kind: 'Pod', name: 'job-1', uid }), store),
    ).toBeNull();
  });

  it('ignores users that are not kubelets', () => {
    expect(
      nodeRestriction(
        attrs({ userInfo: { username: 'system:node:n2', groups: ['system:authenticated'] } }),
        store,
      ),
    ).toBeNull();
  });
});
