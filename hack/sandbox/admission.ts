// Validating admission for the sandbox, modelled on kube-apiserver's: the built-in
// NodeRestriction check first, then every matching ValidatingWebhookConfiguration webhook
// called in parallel over HTTPS with an AdmissionReview. The pipeline calls
// runValidatingAdmission before it persists any create/update/delete (subresources too).
import { randomUUID } from 'node:crypto';
import { postReview, WebhookCallError, type WebhookEndpoint } from './admission/call.ts';
import { evaluateMatchConditions } from './admission/match-conditions.ts';
import {
  buildAdmissionReview,
  denialStatus,
  InvalidReviewResponse,
  pickReviewVersion,
  verifyAdmissionResponse,
} from './admission/review.ts';
import { isExemptFromWebhooks, type MatchEnvironment, matchWebhook } from './admission/rules.ts';
import { resolveServiceBase } from './admission/service.ts';
import type {
  AdmissionStatus,
  EquivalentResource,
  Invocation,
  ValidatingWebhook,
} from './admission/types.ts';
import { admissionForbidden, nodeRestriction } from './identity/node-restriction.ts';
import type {
  GroupVersionKind,
  GroupVersionResource,
  KubeObject,
  SandboxContext,
  UserInfo,
} from './types.ts';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** Everything an AdmissionReview v1 request carries, filled in by the request pipeline. */
export interface AdmissionAttributes {
  /** Unique per request; becomes request.uid. */
  uid: string;
  /** The kind/resource of the object being admitted (e.g. Binding, pods/binding). */
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  /** "" for the main resource, else "status", "binding", "eviction", "token", ... */
  subResource: string;
  /** As the client sent it (same as kind/resource here: the sandbox serves one version). */
  requestKind: GroupVersionKind;
  requestResource: GroupVersionResource;
  requestSubResource: string;
  /** Name of the object; for a create with generateName, the generated name. */
  name: string;
  /** "" for cluster-scoped resources; a Namespace's own name for requests on a Namespace. */
  namespace: string;
  operation: AdmissionOperation;
  userInfo: UserInfo;
  /** New object (CREATE, UPDATE); null for DELETE. For subresources, the subresource body. */
  object: KubeObject | null;
  /** Stored object before the change (UPDATE, DELETE; the parent object for subresources). */
  oldObject: KubeObject | null;
  dryRun: boolean;
  /** CreateOptions / UpdateOptions / DeleteOptions, as a typed object (apiVersion meta.k8s.io/v1). */
  options: KubeObject | null;
}

export interface AdmissionResult {
  allowed: boolean;
  /** On denial: the HTTP code and the full message the client sees (a Status). */
  status?: AdmissionStatus;
  /** Sent back to the client as `Warning: 299 - "<text>"` headers. */
  warnings: string[];
}

const WEBHOOK_CONFIGS = {
  group: 'admissionregistration.k8s.io',
  resource: 'validatingwebhookconfigurations',
};
const CRDS = { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' };
const NAMESPACES = { group: '', resource: 'namespaces' };
const SERVICES = { group: '', resource: 'services' };

const DEFAULT_TIMEOUT_SECONDS = 10;
const MAX_TIMEOUT_SECONDS = 30;

/** Outcome of one webhook: an error to return (first to finish wins), plus its warnings. */
interface HookOutcome {
  error?: AdmissionStatus;
  warnings: string[];
}

const callingError = (hookName: string, reason: string): AdmissionStatus => {
  const message = `failed calling webhook "${hookName}": ${reason}`;
  return {
    code: 500,
    reason: 'InternalError',
    message: `Internal error occurred: ${message}`,
    details: { causes: [{ message }] },
  };
};

/** Served versions of a custom resource are equivalent (conversion strategy None). */
function crdEquivalents(ctx: SandboxContext, resource: GroupVersionResource): EquivalentResource[] {
  const crd = ctx.store.list(CRDS).find((c) => {
    const spec = c.spec as { group?: string; names?: { plural?: string } } | undefined;
    return spec?.group === resource.group && spec?.names?.plural === resource.resource;
  });
  if (!crd) return [];
  const spec = crd.spec as {
    group: string;
    names: { plural: string; kind: string };
    versions?: { name: string; served?: boolean }[];
  };
  return (spec.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => ({
      resource: { group: spec.group, version: v.name, resource: spec.names.plural },
      kind: { group: spec.group, version: v.name, kind: spec.names.kind },
    }));
}

function matchEnvironment(ctx: SandboxContext): MatchEnvironment {
  return {
    namespaceLabels: (name) => {
      const ns = ctx.store.get(NAMESPACES, undefined, name);
      return ns ? (ns.metadata.labels ?? {}) : undefined;
    },
    equivalents: (resource) => crdEquivalents(ctx, resource),
  };
}

/** Where a webhook's clientConfig points, or the reason it cannot be reached. */
export function resolveEndpoint(
  hook: ValidatingWebhook,
  ctx: SandboxContext,
): WebhookEndpoint | { unreachable: string; displayUrl: string } {
  const { url, service, caBundle } = hook.clientConfig ?? {};
  const caPem = caBundle ? Buffer.from(caBundle, 'base64').toString('utf8') : undefined;
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { unreachable: `parse "${url}": invalid URL`, displayUrl: url };
    }
    if (parsed.protocol !== 'https:') {
      return {
        unreachable: `unsupported protocol scheme "${parsed.protocol.replace(':', '')}"`,
        displayUrl: url,
      };
    }
    const serverName = parsed.hostname.replace(/^\[|\]$/g, '');
    return { displayUrl: url, connectUrl: url, serverName, caPem };
  }
  if (service?.name && service.namespace) {
    const port = service.port ?? 443;
    const path = service.path ?? '/';
    const serverName = `${service.name}.${service.namespace}.svc`;
    const displayUrl = `https://${serverName}:${port}${path}`;
    const svc = ctx.store.get(SERVICES, service.namespace, service.name);
    const resolved = resolveServiceBase(svc, service.name, port);
    if ('unreachable' in resolved) return { unreachable: resolved.unreachable, displayUrl };
    const base = resolved.base;
    const connectUrl = new URL(path, base.endsWith('/') ? base : `${base}/`).toString();
    return { displayUrl, connectUrl, serverName, caPem };
  }
  return { unreachable: 'clientConfig names neither url nor service', displayUrl: '' };
}

function timeoutOf(hook: ValidatingWebhook): number {
  const t = hook.timeoutSeconds;
  if (typeof t !== 'number' || !Number.isFinite(t)) return DEFAULT_TIMEOUT_SECONDS;
  return Math.min(MAX_TIMEOUT_SECONDS, Math.max(1, Math.floor(t)));
}

async function callHook(
  hook: ValidatingWebhook,
  invocation: Invocation,
  attrs: AdmissionAttributes,
  ctx: SandboxContext,
): Promise<HookOutcome> {
  const failOpen = hook.failurePolicy === 'Ignore';
  const callFailure = (reason: string): HookOutcome =>
    failOpen ? { warnings: [] } : { error: callingError(hook.name, reason), warnings: [] };

  if (attrs.dryRun && hook.sideEffects !== 'None' && hook.sideEffects !== 'NoneOnDryRun') {
    return {
      error: {
        code: 400,
        reason: 'BadRequest',
        message: `admission webhook "${hook.name}" does not support dry run`,
      },
      warnings: [],
    };
  }
  const version = pickReviewVersion(hook.admissionReviewVersions);
  if (!version) {
    return callFailure(
      'could not create admission objects: webhook does not accept v1 or v1beta1 AdmissionReview',
    );
  }
  const uid = randomUUID();
  const review = buildAdmissionReview(version, uid, attrs, invocation);
  const request = review.request as Record<string, unknown>;

  if (hook.matchConditions && hook.matchConditions.length > 0) {
    const verdict = evaluateMatchConditions(hook.matchConditions, {
      object: request.object,
      oldObject: request.oldObject,
      request,
    });
    if (!verdict.matches) {
      if (verdict.error && !failOpen) {
        return { error: admissionForbidden(attrs, verdict.error), warnings: [] };
      }
      return { warnings: [] };
    }
  }

  const endpoint = resolveEndpoint(hook, ctx);
  const timeout = timeoutOf(hook);
  if ('unreachable' in endpoint) {
    const shown = endpoint.displayUrl ? `Post "${endpoint.displayUrl}?timeout=${timeout}s": ` : '';
    return callFailure(`failed to call webhook: ${shown}${endpoint.unreachable}`);
  }
  let body: unknown;
  try {
    body = await postReview(endpoint, review, timeout);
  } catch (err) {
    if (err instanceof WebhookCallError)
      return callFailure(`failed to call webhook: ${err.message}`);
    throw err;
  }
  try {
    const verdict = verifyAdmissionResponse(version, uid, body);
    if (verdict.allowed) return { warnings: verdict.warnings };
    return { error: denialStatus(hook.name, verdict.result), warnings: verdict.warnings };
  } catch (err) {
    if (err instanceof InvalidReviewResponse) {
      return callFailure(`received invalid webhook response: ${err.message}`);
    }
    throw err;
  }
}

/** Every webhook of every ValidatingWebhookConfiguration, configurations sorted by name. */
export function listValidatingWebhooks(ctx: SandboxContext): ValidatingWebhook[] {
  return ctx.store
    .list(WEBHOOK_CONFIGS)
    .filter((c) => !c.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    .flatMap((c) => (Array.isArray(c.webhooks) ? (c.webhooks as ValidatingWebhook[]) : []));
}

/**
 * Called by the pipeline for every create/update/delete (subresources included) after
 * defaulting and validation, before anything is persisted. Never throws for a webhook's
 * misbehaviour: every failure becomes the Status kube would return.
 */
export async function runValidatingAdmission(
  attrs: AdmissionAttributes,
  ctx: SandboxContext,
): Promise<AdmissionResult> {
  const restricted = nodeRestriction(attrs, ctx.store);
  if (restricted) {
    return {
      allowed: false,
      status: {
        code: restricted.code,
        reason: restricted.reason,
        message: restricted.message,
        details: { ...restricted.details },
      },
      warnings: [],
    };
  }
  if (isExemptFromWebhooks(attrs.resource)) return { allowed: true, warnings: [] };

  const env = matchEnvironment(ctx);
  const calls: Promise<HookOutcome>[] = [];
  for (const hook of listValidatingWebhooks(ctx)) {
    const match = matchWebhook(hook, attrs, env);
    if (match.error) return { allowed: false, status: match.error, warnings: [] };
    if (match.call) calls.push(callHook(hook, match.invocation, attrs, ctx));
  }
  if (calls.length === 0) return { allowed: true, warnings: [] };

  // All hooks run to completion; the first error to arrive is the answer (modelled on
  // kube-apiserver's dispatcher; checked on the sandbox only).
  const warnings: string[] = [];
  let firstError: AdmissionStatus | undefined;
  await Promise.all(
    calls.map((call) =>
      call.then((outcome) => {
        warnings.push(...outcome.warnings);
        if (outcome.error && !firstError) firstError = outcome.error;
      }),
    ),
  );
  return firstError
    ? { allowed: false, status: firstError, warnings }
    : { allowed: true, warnings };
}
