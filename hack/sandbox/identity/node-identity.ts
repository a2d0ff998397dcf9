// Who counts as a kubelet: user system:node:<name> in group system:nodes (kube's node
// identifier). Shared by the authorizer and the NodeRestriction admission check.
import type { UserInfo } from '../types.ts';

export const NODE_USER_PREFIX = 'system:node:';
export const NODES_GROUP = 'system:nodes';

/** The node a user acts for, or undefined when the user is not a kubelet. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.groups.includes(NODES_GROUP)) return undefined;
  if (!user.username.startsWith(NODE_USER_PREFIX)) return undefined;
  const name = user.username.slice(NODE_USER_PREFIX.length);
  return name === '' ? undefined : name;
}
