// Identity for the sandbox: bearer-token authentication, the admin and per-node kubelet
// users, TokenRequest and TokenReview. Owned by H4: this is the stub H3 committed with the
// signatures the request pipeline calls; H4 replaces the bodies (real JWTs with jose).
import { randomBytes } from 'node:crypto';
import type { KubeObject, SandboxContext, UserInfo } from './types.ts';

/** What the request pipeline needs to decide who may do what. */
export interface AuthorizationRequest {
  verb: string; // get list watch create update patch delete deletecollection
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface TokenAuthority {
  /** A bearer token for a cluster-admin user (group system:masters). Never logged. */
  readonly adminToken: string;
  /** A bearer token for the kubelet of `nodeName` (system:node:<name>, group system:nodes). */
  nodeToken(nodeName: string): string;
  /** Bearer token → user, or null when the token is unknown, expired or its bound object is gone. */
  authenticate(token: string): Promise<UserInfo | null>;
  /** Authorization: null when allowed, else the reason (the pipeline makes it a 403). */
  authorize(user: UserInfo, request: AuthorizationRequest): string | null;
  /**
   * POST serviceaccounts/<name>/token: mints a token for `serviceAccount` from the
   * TokenRequest body; returns the TokenRequest with `status.token` and
   * `status.expirationTimestamp`. Throws a `StatusError` (errors.ts) for a bad request.
   */
  createToken(serviceAccount: KubeObject, tokenRequest: KubeObject): Promise<KubeObject>;
  /** POST tokenreviews: returns the TokenReview with `status` filled in. */
  reviewToken(tokenReview: KubeObject): Promise<KubeObject>;
}

/**
 * Builds the sandbox's token authority. Owned by H4. Stub: an opaque admin token, opaque
 * node tokens, no service-account tokens.
 */
export async function createTokenAuthority(_ctx: SandboxContext): Promise<TokenAuthority> {
  const adminToken = randomBytes(24).toString('base64url');
  const nodeTokens = new Map<string, string>();
  const users = new Map<string, UserInfo>([
    [adminToken, { username: 'sandbox-admin', groups: ['system:masters', 'system:authenticated'] }],
  ]);
  return {
    adminToken,
    nodeToken(nodeName) {
      let token = nodeTokens.get(nodeName);
      if (!token) {
        token = randomBytes(24).toString('base64url');
        nodeTokens.set(nodeName, token);
        users.set(token, {
          username: `system:node:${nodeName}`,
          groups: ['system:nodes', 'system:authenticated'],
        });
      }
      return token;
    },
    async authenticate(token) {
      return users.get(token) ?? null;
    },
    authorize(user) {
      return user.groups.includes('system:masters') || user.groups.includes('system:nodes')
        ? null
        : `User "${user.username}" cannot perform this request`;
    },
    async createToken() {
      throw new Error('TokenRequest is not implemented yet (H4)');
    },
    async reviewToken(review) {
      return { ...review, status: { authenticated: false, error: 'not implemented yet (H4)' } };
    },
  };
}
