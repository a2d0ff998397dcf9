// Service-account token claims as kube-apiserver mints and checks them
// (pkg/serviceaccount): the bound-token claim set, the legacy Secret-token claim set, the
// checks against live objects, and the user a valid token stands for. Pure: the store is
// read through StoreReader, time comes in as an argument.
import { timingSafeEqual } from 'node:crypto';
import type { KubeObject, StoreReader, UserInfo } from '../types.ts';

const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

export const LEGACY_ISSUER = 'kubernetes/serviceaccount';
/** go-jose's default leeway, which kube applies to exp/nbf/iat and to deletion times. */
export const LEEWAY_SECONDS = 60;

export interface ObjectRef {
  name: string;
  uid: string;
}

/** The `kubernetes.io` private claim of a bound token. */
export interface KubernetesClaim {
  namespace: string;
  serviceaccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
}

export interface BoundClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': KubernetesClaim;
}

export interface LegacyClaims {
  iss: typeof LEGACY_ISSUER;
  sub: string;
  'kubernetes.io/serviceaccount/namespace': string;
  'kubernetes.io/serviceaccount/secret.name': string;
  'kubernetes.io/serviceaccount/service-account.name': string;
  'kubernetes.io/serviceaccount/service-account.uid': string;
}

export const serviceAccountUsername = (namespace: string, name: string) =>
  `system:serviceaccount:${namespace}:${name}`;

const ref = (obj: KubeObject): ObjectRef => ({
  name: obj.metadata.name ?? '',
  uid: obj.metadata.uid ?? '',
});

/** What a token may be bound to: one of pod or secret, or a node alone. */
export interface BoundObjects {
  pod?: KubeObject;
  secret?: KubeObject;
  /** For a pod binding, the node the pod runs on (kube adds it since 1.30). */
  node?: KubeObject;
}

export function buildBoundClaims(input: {
  issuer: string;
  serviceAccount: KubeObject;
  bound: BoundObjects;
  audiences: string[];
  nowSeconds: number;
  expirationSeconds: number;
  jti: string;
}): BoundClaims {
  const { serviceAccount: sa, bound } = input;
  if (bound.pod && bound.secret) {
    throw new Error('internal error, token can only be bound to one object type');
  }
  const namespace = sa.metadata.namespace ?? '';
  const kube: KubernetesClaim = { namespace, serviceaccount: ref(sa) };
  if (bound.pod) {
    kube.pod = ref(bound.pod);
    if (bound.node) kube.node = ref(bound.node);
  } else if (bound.secret) {
    kube.secret = ref(bound.secret);
  } else if (bound.node) {
    kube.node = ref(bound.node);
  }
  return {
    iss: input.issuer,
    sub: serviceAccountUsername(namespace, sa.metadata.name ?? ''),
    aud: input.audiences,
    exp: input.nowSeconds + input.expirationSeconds,
    iat: input.nowSeconds,
    nbf: input.nowSeconds,
    jti: input.jti,
    'kubernetes.io': kube,
  };
}

export function buildLegacyClaims(serviceAccount: KubeObject, secret: KubeObject): LegacyClaims {
  const namespace = serviceAccount.metadata.namespace ?? '';
  const name = serviceAccount.metadata.name ?? '';
  return {
    iss: LEGACY_ISSUER,
    sub: serviceAccountUsername(namespace, name),
    'kubernetes.io/serviceaccount/namespace': namespace,
    'kubernetes.io/serviceaccount/secret.name': secret.metadata.name ?? '',
    'kubernetes.io/serviceaccount/service-account.name': name,
    'kubernetes.io/serviceaccount/service-account.uid': serviceAccount.metadata.uid ?? '',
  };
}

/** Who a valid service-account token authenticates as (kube's ServiceAccountInfo). */
export interface ServiceAccountInfo {
  namespace: string;
  name: string;
  uid: string;
  podName?: string;
  podUID?: string;
  nodeName?: string;
  nodeUID?: string;
  /** "JTI=<jti>" for bound tokens. */
  credentialID?: string;
}

export type ClaimCheck = { ok: true; info: ServiceAccountInfo } | { ok: false; error: string };

const REF = {
  serviceaccounts: { group: '', resource: 'serviceaccounts' },
  pods: { group: '', resource: 'pods' },
  secrets: { group: '', resource: 'secrets' },
  nodes: { group: '', resource: 'nodes' },
};

const deletedBefore = (obj: KubeObject, cutoffMs: number) =>
  obj.metadata.deletionTimestamp !== undefined &&
  Date.parse(obj.metadata.deletionTimestamp) < cutoffMs;

/** Checks a bound token's time claims and that what it names still exists unchanged. */
export function checkBoundClaims(
  claims: BoundClaims,
  store: StoreReader,
  nowMs: number,
): ClaimCheck {
  const now = Math.floor(nowMs / 1000);
  if (typeof claims.exp === 'number' && now - LEEWAY_SECONDS > claims.exp) {
    return { ok: false, error: 'service account token has expired' };
  }
  if (typeof claims.nbf === 'number' && now + LEEWAY_SECONDS < claims.nbf) {
    return { ok: false, error: 'service account token is not valid yet' };
  }
  if (typeof claims.iat === 'number' && now + LEEWAY_SECONDS < claims.iat) {
    return { ok: false, error: 'service account token is issued in the future' };
  }
  const kube = claims['kubernetes.io'];
  if (!kube?.serviceaccount?.name || !kube.namespace) {
    return { ok: false, error: 'service account token claims could not be validated' };
  }
  const cutoff = nowMs - LEEWAY_SECONDS * 1000;
  const { namespace } = kube;
  const saName = kube.serviceaccount.name;
  const sa = store.get(REF.serviceaccounts, namespace, saName);
  if (!sa) return { ok: false, error: `serviceaccounts "${saName}" not found` };
  if (sa.metadata.uid !== kube.serviceaccount.uid) {
    return {
      ok: false,
      error: `service account UID (${sa.metadata.uid}) does not match claim (${kube.serviceaccount.uid})`,
    };
  }
  if (deletedBefore(sa, cutoff)) {
    return { ok: false, error: `service account ${namespace}/${saName} has been deleted` };
  }
  if (kube.secret) {
    const secret = store.get(REF.secrets, namespace, kube.secret.name);
    if (!secret) return { ok: false, error: 'service account token has been invalidated' };
    if (secret.metadata.uid !== kube.secret.uid) {
      return {
        ok: false,
        error: `secret UID (${secret.metadata.uid}) does not match service account secret ref claim (${kube.secret.uid})`,
      };
    }
    if (deletedBefore(secret, cutoff))
      return { ok: false, error: 'service account token has been invalidated' };
  }
  const info: ServiceAccountInfo = { namespace, name: saName, uid: kube.serviceaccount.uid };
  if (kube.pod) {
    const pod = store.get(REF.pods, namespace, kube.pod.name);
    if (!pod) return { ok: false, error: 'service account token has been invalidated' };
    if (pod.metadata.uid !== kube.pod.uid) {
      return {
        ok: false,
        error: `pod UID (${pod.metadata.uid}) does not match service account pod ref claim (${kube.pod.uid})`,
      };
    }
    if (deletedBefore(pod, cutoff))
      return { ok: false, error: 'service account token has been invalidated' };
    info.podName = kube.pod.name;
    info.podUID = kube.pod.uid;
  }
  if (kube.node) {
    if (!kube.pod) {
      // A token bound to a Node alone lives as long as that Node.
      const node = store.get(REF.nodes, undefined, kube.node.name);
      if (!node) return { ok: false, error: 'service account token has been invalidated' };
      if (node.metadata.uid !== kube.node.uid) {
        return {
          ok: false,
          error: `node UID (${node.metadata.uid}) does not match service account node ref claim (${kube.node.uid})`,
        };
      }
      if (deletedBefore(node, cutoff))
        return { ok: false, error: 'service account token has been invalidated' };
    }
    info.nodeName = kube.node.name;
    info.nodeUID = kube.node.uid;
  }
  if (claims.jti) info.credentialID = `JTI=${claims.jti}`;
  return { ok: true, info };
}

/** Checks a legacy Secret token: the Secret must still hold exactly this token. */
export function checkLegacyClaims(
  claims: LegacyClaims,
  token: string,
  store: StoreReader,
  nowMs: number,
): ClaimCheck {
  const namespace = claims['kubernetes.io/serviceaccount/namespace'];
  const secretName = claims['kubernetes.io/serviceaccount/secret.name'];
  const saName = claims['kubernetes.io/serviceaccount/service-account.name'];
  const saUID = claims['kubernetes.io/serviceaccount/service-account.uid'];
  if (!namespace || !secretName || !saName || !saUID) {
    return { ok: false, error: 'service account token claims could not be validated' };
  }
  const cutoff = nowMs - LEEWAY_SECONDS * 1000;
  const secret = store.get(REF.secrets, namespace, secretName);
  if (!secret || deletedBefore(secret, cutoff))
    return { ok: false, error: 'Token has been invalidated' };
  const stored = (secret.data as Record<string, string> | undefined)?.token;
  if (!stored || !sameBytes(Buffer.from(stored, 'base64'), Buffer.from(token))) {
    return { ok: false, error: "Token does not match server's copy" };
  }
  const sa = store.get(REF.serviceaccounts, namespace, saName);
  if (!sa) return { ok: false, error: `serviceaccounts "${saName}" not found` };
  if (deletedBefore(sa, cutoff)) {
    return { ok: false, error: `ServiceAccount ${namespace}/${saName} has been deleted` };
  }
  if (sa.metadata.uid !== saUID) {
    return {
      ok: false,
      error: `ServiceAccount UID (${sa.metadata.uid}) does not match claim (${saUID})`,
    };
  }
  return { ok: true, info: { namespace, name: saName, uid: saUID } };
}

/** The user a service-account token stands for, extras as kube names them. */
export function serviceAccountUser(info: ServiceAccountInfo): UserInfo {
  const user: UserInfo = {
    username: serviceAccountUsername(info.namespace, info.name),
    uid: info.uid,
    groups: [
      'system:serviceaccounts',
      `system:serviceaccounts:${info.namespace}`,
      'system:authenticated',
    ],
  };
  const extra: Record<string, string[]> = {};
  if (info.podName && info.podUID) {
    extra['authentication.kubernetes.io/pod-name'] = [info.podName];
    extra['authentication.kubernetes.io/pod-uid'] = [info.podUID];
  }
  if (info.credentialID) extra['authentication.kubernetes.io/credential-id'] = [info.credentialID];
  if (info.nodeName) {
    extra['authentication.kubernetes.io/node-name'] = [info.nodeName];
    if (info.nodeUID) extra['authentication.kubernetes.io/node-uid'] = [info.nodeUID];
  }
  if (Object.keys(extra).length > 0) user.extra = extra;
  return user;
}
