// The enforcement settings a controller reads from a policy, with the CRD's defaults
// (read from operator/api/crds.ts, the single source of truth) and durations parsed.
import { CRDS } from '../api/crds.ts';
import type { JSONSchemaProps } from '../api/schema-builders.ts';
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import { parseDuration } from '../trust/index.ts';

type OnDrift = NonNullable<NonNullable<EndpointTrustPolicy['spec']['enforcement']>['onDrift']>;
export type PodAction = NonNullable<OnDrift['podAction']>;

export interface EnforcementSettings {
  mode: 'Enforce' | 'Audit';
  gracePeriodMs: number;
  bootstrapGracePeriodMs: number;
  taint: boolean;
  podAction: PodAction;
  deleteLegacyTokenSecrets: boolean;
}

const enforcementSchema = (CRDS.find((c) => c.kind === 'EndpointTrustPolicy')?.spec.properties
  ?.enforcement ?? {}) as JSONSchemaProps;
const onDriftSchema = enforcementSchema.properties?.onDrift?.properties ?? {};
const def = <T>(schema: JSONSchemaProps | undefined): T => schema?.default as T;

export const ENFORCEMENT_DEFAULTS: EnforcementSettings = {
  mode: def(enforcementSchema.properties?.mode),
  gracePeriodMs: parseDuration(def(onDriftSchema.gracePeriod)) ?? 0,
  bootstrapGracePeriodMs: parseDuration(def(onDriftSchema.bootstrapGracePeriod)) ?? 0,
  taint: def(onDriftSchema.taint),
  podAction: def(onDriftSchema.podAction),
  deleteLegacyTokenSecrets: def(onDriftSchema.deleteLegacyTokenSecrets),
};

/** Unparseable durations fall back to no grace: fail closed, act sooner rather than never. */
export function enforcementSettings(policy: EndpointTrustPolicy): EnforcementSettings {
  const e = policy.spec?.enforcement;
  const d = e?.onDrift;
  const duration = (text: string | undefined, fallback: number) =>
    text === undefined ? fallback : (parseDuration(text) ?? 0);
  return {
    mode: e?.mode ?? ENFORCEMENT_DEFAULTS.mode,
    gracePeriodMs: duration(d?.gracePeriod, ENFORCEMENT_DEFAULTS.gracePeriodMs),
    bootstrapGracePeriodMs: duration(
      d?.bootstrapGracePeriod,
      ENFORCEMENT_DEFAULTS.bootstrapGracePeriodMs,
    ),
    taint: d?.taint ?? ENFORCEMENT_DEFAULTS.taint,
    podAction: d?.podAction ?? ENFORCEMENT_DEFAULTS.podAction,
    deleteLegacyTokenSecrets:
      d?.deleteLegacyTokenSecrets ?? ENFORCEMENT_DEFAULTS.deleteLegacyTokenSecrets,
  };
}
