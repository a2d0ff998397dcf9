// TokenRequest handling as kube's serviceaccounts/token REST storage does it, minus the
// signing: defaulting and validation of the body (what admission then sees) and the
// lookup of the bound object. Pure: the store is read through StoreReader.
import { errors, fieldError, type StatusCause } from '../errors.ts';
import type { KubeObject, StoreReader } from '../types.ts';
import type { BoundObjects } from './claims.ts';

export const DEFAULT_EXPIRATION_SECONDS = 3600;
export const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;

export interface BoundObjectReference {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

export interface TokenRequestSpec {
  audiences: string[];
  expirationSeconds: number;
  boundObjectRef?: BoundObjectReference;
}

const invalid = (name: string, causes: ReturnType<typeof fieldError>[]) =>
  errors.invalid('authentication.k8s.io', 'TokenRequest', name, causes);

/**
 * The TokenRequest as kube hands it to admission: name/namespace filled from the URL,
 * audiences defaulted to the API audiences, expirationSeconds defaulted to 3600 and
 * checked (at least 10 minutes). Throws a StatusError for a bad body.
 */
export function prepareTokenRequest(
  serviceAccount: KubeObject,
  body: KubeObject,
  apiAudiences: string[],
  now: Date,
): KubeObject & { spec: TokenRequestSpec } {
  const saName = serviceAccount.metadata.name ?? '';
  const saNamespace = serviceAccount.metadata.namespace ?? '';
  const meta = body.metadata ?? {};
  if (meta.name && meta.name !== saName) {
    throw invalid(saName, [
      fieldError(
        'FieldValueInvalid',
        'metadata.name',
        `Invalid value: "${meta.name}": must match the service account name if specified`,
      ),
    ]);
  }
  if (meta.namespace && meta.namespace !== saNamespace) {
    throw invalid(saName, [
      fieldError(
        'FieldValueInvalid',
        'metadata.namespace',
        `Invalid value: "${meta.namespace}": must match the service account namespace if specified`,
      ),
    ]);
  }
  const rawSpec = (body.spec ?? {}) as Record<string, unknown>;
  if (typeof rawSpec !== 'object' || Array.isArray(rawSpec)) {
    throw errors.badRequest('TokenRequest.spec must be an object');
  }
  const audiences = rawSpec.audiences ?? [];
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string')) {
    throw errors.badRequest('TokenRequest.spec.audiences must be a list of strings');
  }
  const expiration = rawSpec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (typeof expiration !== 'number' || !Number.isInteger(expiration)) {
    throw errors.badRequest('TokenRequest.spec.expirationSeconds must be an integer');
  }
  const causes: StatusCause[] = [];
  if (expiration < MIN_EXPIRATION_SECONDS) {
    causes.push(
      fieldError(
        'FieldValueInvalid',
        'spec.expirationSeconds',
        `Invalid value: ${expiration}: may not specify a duration less than 10 minutes`,
      ),
    );
  }
  if (expiration > MAX_EXPIRATION_SECONDS) {
    causes.push(
      fieldError(
        'FieldValueInvalid',
        'spec.expirationSeconds',
        `Invalid value: ${expiration}: may not specify a duration larger than 2^32 seconds`,
      ),
    );
  }
  // kube names the (still unnamed) TokenRequest "" in this message.
  if (causes.length > 0) throw invalid('', causes);

  const spec: TokenRequestSpec = {
    audiences: audiences.length > 0 ? (audiences as string[]) : [...apiAudiences],
    expirationSeconds: expiration,
  };
  if (rawSpec.boundObjectRef !== undefined && rawSpec.boundObjectRef !== null) {
    if (typeof rawSpec.boundObjectRef !== 'object') {
      throw errors.badRequest('TokenRequest.spec.boundObjectRef must be an object');
    }
    spec.boundObjectRef = rawSpec.boundObjectRef as BoundObjectReference;
  }
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: {
      name: saName,
      namespace: saNamespace,
      creationTimestamp: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    spec,
    status: { token: '', expirationTimestamp: null },
  };
}

/** kube's GroupVersionKind.String(): "/v1, Kind=ConfigMap". */
const gvkString = (ref: BoundObjectReference) => {
  const [group, version] = (ref.apiVersion ?? '').includes('/')
    ? (ref.apiVersion ?? '').split('/')
    : ['', ref.apiVersion ?? ''];
  return `${group}/${version}, Kind=${ref.kind ?? ''}`;
};

/**
 * Looks up what the token is bound to. For a Pod: it must run as this service account;
 * its Node (when scheduled and present) is bound too. A uid in the reference must match.
 */
export function resolveBoundObjects(
  ref: BoundObjectReference | undefined,
  serviceAccount: KubeObject,
  store: StoreReader,
): BoundObjects {
  if (!ref) return {};
  const namespace = serviceAccount.metadata.namespace ?? '';
  const saName = serviceAccount.metadata.name ?? '';
  const group = (ref.apiVersion ?? '').includes('/') ? (ref.apiVersion ?? '').split('/')[0] : '';
  const name = ref.name ?? '';
  let bound: BoundObjects;
  let uid: string | undefined;
  if (group === '' && ref.kind === 'Pod') {
    const pod = store.get({ group: '', resource: 'pods' }, namespace, name);
    if (!pod) throw errors.notFound('', 'pods', name);
    const spec = (pod.spec ?? {}) as { serviceAccountName?: string; nodeName?: string };
    if ((spec.serviceAccountName ?? 'default') !== saName) {
      throw errors.badRequest(
        `cannot bind token for serviceaccount "${saName}" to pod running with different serviceaccount name.`,
      );
    }
    bound = { pod };
    if (spec.nodeName) {
      // kube binds the node when it can read it and carries on without it otherwise.
      const node = store.get({ group: '', resource: 'nodes' }, undefined, spec.nodeName);
      if (node) bound.node = node;
    }
    uid = pod.metadata.uid;
  } else if (group === '' && ref.kind === 'Secret') {
    const secret = store.get({ group: '', resource: 'secrets' }, namespace, name);
    if (!secret) throw errors.notFound('', 'secrets', name);
    bound = { secret };
    uid = secret.metadata.uid;
  } else if (group === '' && ref.kind === 'Node') {
    const node = store.get({ group: '', resource: 'nodes' }, undefined, name);
    if (!node) throw errors.notFound('', 'nodes', name);
    bound = { node };
    uid = node.metadata.uid;
  } else {
    throw errors.badRequest(`cannot bind token to object of type ${gvkString(ref)}`);
  }
  if (ref.uid && ref.uid !== uid) {
    throw errors.conflict(
      '',
      ref.kind ?? '',
      name,
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  }
  return bound;
}
