// /openapi/v2 and /openapi/v3: not served yet (kubectl falls back, see README).
import type { Registry } from './registry.ts';

export function openAPIDocument(
  _registry: Registry,
  _path: string,
  _accept: string | undefined,
): unknown {
  return undefined;
}
