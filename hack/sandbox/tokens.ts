// Identity for the sandbox: bearer-token authentication (static users, bound and legacy
// service-account JWTs), authorization, TokenRequest and TokenReview, with kube-apiserver's
// claims, checks and messages. Tokens are real RS256 JWTs signed with a key made at start.
import { randomUUID } from 'node:crypto';
import { errors } from './errors.ts';
import {
  type BoundClaims,
  buildBoundClaims,
  buildLegacyClaims,
  type ClaimCheck,
  checkBoundClaims,
  checkLegacyClaims,
  LEGACY_ISSUER,
  type LegacyClaims,
  serviceAccountUser,
} from './identity/claims.ts';
import { createTokenSigner, type JsonWebKeySet, peekClaims } from './identity/signer.ts';
import { prepareTokenRequest, resolveBoundObjects } from './identity/token-request.ts';
import type { KubeObject, SandboxContext, UserInfo } from './types.ts';
import { type AuthorizerOptions, authorize, StaticUsers } from './users.ts';

/** What the request pipeline needs to decide who may do what. */
export interface AuthorizationRequest {
  verb: string; // get list watch create update patch delete deletecollection
  group: string;
  /** "" for a non-resource request (discovery, /version, /healthz). */
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface TokenAuthority {
  /** A bearer token for a cluster-admin user (group system:masters). Never logged. */
  readonly adminToken: string;
  /** A bearer token for the scheduler (system:kube-scheduler). */
  readonly schedulerToken: string;
  /** The `iss` of bound service-account tokens. */
  readonly issuer: string;
  /** What a token must be meant for to call this API server (default: [issuer]). */
  readonly apiAudiences: string[];
  /** A bearer token for the kubelet of `nodeName` (system:node:<name>, group system:nodes). */
  nodeToken(nodeName: string): string;
  /** Bearer token → user, or null when the token is unknown, expired or its bound object is gone. */
  authenticate(token: string): Promise<UserInfo | null>;
  /** Authorization: null when allowed, else the reason (the pipeline makes it a 403). */
  authorize(user: UserInfo, request: AuthorizationRequest): string | null;
  /**
   * The TokenRequest admission sees: name/namespace from the service account, audiences
   * and expirationSeconds defaulted, validated (422 below 10 minutes). Throws StatusError.
   */
  prepareTokenRequest(serviceAccount: KubeObject, tokenRequest: KubeObject): KubeObject;
  /**
   * POST serviceaccounts/<name>/token (after admission): checks the bound object and mints
   * the token; returns the TokenRequest with `status.token` and `status.expirationTimestamp`.
   * Throws a StatusError for a bad request (400, 404, 409, 422).
   */
  createToken(serviceAccount: KubeObject, tokenRequest: KubeObject): Promise<KubeObject>;
  /** POST tokenreviews: returns the TokenReview with `status` filled in. Throws StatusError (400). */
  reviewToken(tokenReview: KubeObject): Promise<KubeObject>;
  /**
   * The token controller's job for a legacy Secret of type kubernetes.io/service-account-token:
   * the Secret with data.token/ca.crt/namespace and the SA uid annotation filled in, or
   * undefined when there is nothing to do (not such a Secret, already filled, no such SA).
   */
  populateLegacySecret(secret: KubeObject): Promise<KubeObject | undefined>;
  /** Public keys for /openid/v1/jwks. */
  jwks(): JsonWebKeySet;
  /** The document for /.well-known/openid-configuration. */
  openIDConfiguration(): Record<string, unknown>;
}

export interface TokenAuthorityOptions extends AuthorizerOptions {
  /** Defaults to the sandbox URL. */
  issuer?: string;
  /** Defaults to [issuer], as kube-apiserver does without --api-audiences. */
  apiAudiences?: string[];
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

export const SERVICE_ACCOUNT_TOKEN_SECRET = 'kubernetes.io/service-account-token';
const SA_NAME_ANNOTATION = 'kubernetes.io/service-account.name';
const SA_UID_ANNOTATION = 'kubernetes.io/service-account.uid';

type Verdict =
  | { handled: false }
  | { handled: true; user?: UserInfo; audiences?: string[]; error?: string };

/** Go's %q of a []string: ["a" "b"]. */
const quoteList = (items: string[]) => `[${items.map((i) => JSON.stringify(i)).join(' ')}]`;
const intersect = (a: string[], b: string[]) => a.filter((x) => b.includes(x));
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function createTokenAuthority(
  ctx: SandboxContext,
  opts: TokenAuthorityOptions = {},
): Promise<TokenAuthority> {
  const signer = await createTokenSigner();
  const users = new StaticUsers();
  const now = opts.now ?? Date.now;
  const issuer = opts.issuer ?? ctx.url;
  const apiAudiences = opts.apiAudiences ?? [issuer];

  /** Static tokens are audience-agnostic: valid only when the API audiences are wanted. */
  function reviewStatic(token: string, wanted: string[]): Verdict {
    const user = users.lookup(token);
    if (!user) return { handled: false };
    const audiences = intersect(apiAudiences, wanted);
    if (audiences.length === 0) return { handled: false };
    return { handled: true, user, audiences };
  }

  async function reviewJwt(token: string, wanted: string[]): Promise<Verdict> {
    const peeked = peekClaims(token);
    if (!peeked || (peeked.iss !== issuer && peeked.iss !== LEGACY_ISSUER))
      return { handled: false };
    let claims: Record<string, unknown>;
    try {
      claims = await signer.verifySignature(token);
    } catch {
      return { handled: true, error: 'go-jose/go-jose: error in cryptographic primitive' };
    }
    const aud = claims.aud;
    let tokenAudiences = Array.isArray(aud)
      ? (aud as string[])
      : typeof aud === 'string'
        ? [aud]
        : [];
    // Legacy tokens carry no audience: they are for this API server only.
    if (tokenAudiences.length === 0) tokenAudiences = apiAudiences;
    const audiences = intersect(tokenAudiences, wanted);
    if (audiences.length === 0) {
      return {
        handled: true,
        error: `token audiences ${quoteList(tokenAudiences)} is invalid for the target audiences ${quoteList(wanted)}`,
      };
    }
    const check: ClaimCheck =
      claims.iss === LEGACY_ISSUER
        ? checkLegacyClaims(claims as unknown as LegacyClaims, token, ctx.store, now())
        : checkBoundClaims(claims as unknown as BoundClaims, ctx.store, now());
    if (!check.ok) return { handled: true, error: check.error };
    return { handled: true, user: serviceAccountUser(check.info), audiences };
  }

  async function review(token: string, wanted: string[]): Promise<Verdict> {
    const fixed = reviewStatic(token, wanted);
    if (fixed.handled) return fixed;
    return reviewJwt(token, wanted);
  }

  return {
    adminToken: users.adminToken,
    schedulerToken: users.schedulerToken,
    issuer,
    apiAudiences,
    nodeToken: (nodeName) => users.nodeToken(nodeName),

    async authenticate(token) {
      if (typeof token !== 'string' || token === '') return null;
      const verdict = await review(token, apiAudiences);
      return verdict.handled && verdict.user ? verdict.user : null;
    },

    authorize: (user, request) => authorize(user, request, ctx.store, opts),

    prepareTokenRequest: (serviceAccount, tokenRequest) =>
      prepareTokenRequest(serviceAccount, tokenRequest, apiAudiences, new Date(now())),

    async createToken(serviceAccount, tokenRequest) {
      const startedMs = now();
      // Idempotent: the pipeline may already have prepared it for admission.
      const prepared = prepareTokenRequest(
        serviceAccount,
        tokenRequest,
        apiAudiences,
        new Date(startedMs),
      );
      const bound = resolveBoundObjects(prepared.spec.boundObjectRef, serviceAccount, ctx.store);
      const claims = buildBoundClaims({
        issuer,
        serviceAccount,
        bound,
        audiences: prepared.spec.audiences,
        nowSeconds: Math.floor(startedMs / 1000),
        expirationSeconds: prepared.spec.expirationSeconds,
        jti: randomUUID(),
      });
      const token = await signer.sign(claims as unknown as Record<string, unknown>);
      return {
        ...prepared,
        status: {
          token,
          // Computed from the time before signing, so it is never later than `exp`.
          expirationTimestamp: rfc3339(startedMs + prepared.spec.expirationSeconds * 1000),
        },
      };
    },

    async reviewToken(tokenReview) {
      const spec = (tokenReview.spec ?? {}) as { token?: unknown; audiences?: unknown };
      if (typeof spec.token !== 'string' || spec.token === '') {
        throw errors.badRequest('token is required for TokenReview in authentication');
      }
      if (
        spec.audiences !== undefined &&
        (!Array.isArray(spec.audiences) || spec.audiences.some((a) => typeof a !== 'string'))
      ) {
        throw errors.badRequest('TokenReview.spec.audiences must be a list of strings');
      }
      const wanted = (spec.audiences as string[] | undefined)?.length
        ? (spec.audiences as string[])
        : apiAudiences;
      const verdict = await review(spec.token, wanted);
      // `authenticated` is omitempty in kube's TokenReviewStatus: absent when false.
      const status: Record<string, unknown> = { user: {} };
      if (verdict.handled && verdict.user) {
        status.authenticated = true;
        status.user = verdict.user;
        status.audiences = verdict.audiences;
      } else {
        // kube's request authenticator chain reports the bearer failure and the cause.
        status.error =
          verdict.handled && verdict.error
            ? `[invalid bearer token, ${verdict.error}]`
            : 'invalid bearer token';
      }
      return {
        kind: 'TokenReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { ...(tokenReview.metadata ?? {}), creationTimestamp: null },
        spec: tokenReview.spec,
        status,
      } as unknown as KubeObject;
    },

    async populateLegacySecret(secret) {
      if (secret.type !== SERVICE_ACCOUNT_TOKEN_SECRET) return undefined;
      const saName = secret.metadata.annotations?.[SA_NAME_ANNOTATION];
      const data = (secret.data ?? {}) as Record<string, string>;
      if (!saName || data.token) return undefined;
      const sa = ctx.store.get(
        { group: '', resource: 'serviceaccounts' },
        secret.metadata.namespace,
        saName,
      );
      if (!sa) return undefined;
      const wantedUID = secret.metadata.annotations?.[SA_UID_ANNOTATION];
      if (wantedUID && wantedUID !== sa.metadata.uid) return undefined;
      const token = await signer.sign(
        buildLegacyClaims(sa, secret) as unknown as Record<string, unknown>,
      );
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      return {
        ...secret,
        metadata: {
          ...secret.metadata,
          annotations: {
            ...secret.metadata.annotations,
            [SA_UID_ANNOTATION]: sa.metadata.uid ?? '',
          },
        },
        data: {
          ...data,
          token: b64(token),
          'ca.crt': b64(ctx.caPem),
          namespace: b64(secret.metadata.namespace ?? ''),
        },
      };
    },

    jwks: () => signer.jwks(),

    openIDConfiguration: () => ({
      issuer,
      jwks_uri: `${issuer.replace(/\/$/, '')}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    }),
  };
}
