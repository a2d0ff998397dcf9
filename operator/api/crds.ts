// The single source of truth for trustgate's API. `npm run gen` turns this into
// crds/*.yaml and operator/api/types.generated.ts; `npm run gen -- --check` (in
// `npm test`) fails when either is stale.
import {
  arr,
  bool,
  conditions,
  DNS1123_SUBDOMAIN,
  duration,
  enumOf,
  int,
  type JSONSchemaProps,
  labelSelector,
  obj,
  str,
} from './schema-builders.ts';

export const GROUP = 'trustgate.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const EAR_STATUSES = ['affirming', 'warning', 'none', 'contraindicated'] as const;
export const TRUSTWORTHINESS_CATEGORIES = [
  'instance-identity',
  'configuration',
  'executables',
  'file-system',
  'hardware',
  'runtime-opaque',
  'storage-opaque',
  'sourced-data',
] as const;
export const POSTURE_OPERATORS = [
  'Equals',
  'NotEquals',
  'In',
  'NotIn',
  'Exists',
  'DoesNotExist',
  'LessThanOrEqual',
  'GreaterThanOrEqual',
  'VersionAtLeast',
] as const;
/** Asymmetric JWS algorithms only: HMAC and `none` cannot be named in a policy. */
export const SIGNING_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
] as const;

export interface CrdSource {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Cluster' | 'Namespaced';
  description: string;
  spec: JSONSchemaProps;
  status: JSONSchemaProps;
  printerColumns: {
    name: string;
    type: string;
    jsonPath: string;
    description?: string;
    priority?: number;
  }[];
  /** Rules on the whole object (may read metadata.name). */
  rootValidations?: JSONSchemaProps['x-kubernetes-validations'];
}

const reason = obj(
  'Why a check failed, with a stable code for machines and a sentence for people.',
  {
    code: str('Stable machine-readable reason code, e.g. Stale or PostureRequirementFailed.'),
    message: str('What failed, naming the node, policy and requirement.'),
  },
  { required: ['code', 'message'] },
);

const NONE_OR_ONE_VALUE = [
  'Equals',
  'NotEquals',
  'LessThanOrEqual',
  'GreaterThanOrEqual',
  'VersionAtLeast',
];

const postureRequirement = obj(
  'A requirement on one posture claim of the attestation.',
  {
    key: str('Dotted path into the posture claims, e.g. edr.healthy or patchAgeDays.', {
      minLength: 1,
      maxLength: 256,
      pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$',
    }),
    operator: enumOf('How the claim relates to values.', [...POSTURE_OPERATORS]),
    values: arr(
      'Values compared with the claim, written as strings ("true", "30", "14.2.1").',
      { type: 'string', maxLength: 256 },
      { maxItems: 64 },
    ),
  },
  {
    required: ['key', 'operator'],
    'x-kubernetes-validations': [
      {
        rule: `self.operator in ['Exists', 'DoesNotExist'] ? (!has(self.values) || size(self.values) == 0) : true`,
        message: 'Exists and DoesNotExist take no values',
      },
      {
        rule: `self.operator in ${JSON.stringify(NONE_OR_ONE_VALUE).replaceAll('"', "'")} ? (has(self.values) && size(self.values) == 1) : true`,
        message:
          'Equals, NotEquals, LessThanOrEqual, GreaterThanOrEqual and VersionAtLeast take exactly one value',
      },
      {
        rule: `self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) >= 1) : true`,
        message: 'In and NotIn take at least one value',
      },
      {
        rule: `self.operator in ['LessThanOrEqual', 'GreaterThanOrEqual'] ? self.values.all(v, v.matches('^-?[0-9]+(\\\\.[0-9]+)?$')) : true`,
        message: 'LessThanOrEqual and GreaterThanOrEqual compare numbers',
      },
      {
        rule: `self.operator == 'VersionAtLeast' ? self.values.all(v, v.matches('^v?[0-9]+(\\\\.[0-9]+)*$')) : true`,
        message: 'VersionAtLeast compares dotted versions such as 14.2.1',
      },
    ],
  },
);

const secretKeyRef = obj(
  'A key of a Secret.',
  {
    name: str('Secret name.', { pattern: DNS1123_SUBDOMAIN, maxLength: 253 }),
    namespace: str("Secret namespace; defaults to trustgate's own namespace.", { maxLength: 63 }),
    key: str('Key in the Secret data.', { default: 'jwks.json', maxLength: 253 }),
  },
  { required: ['name'] },
);

const verifier = obj(
  'An endpoint verifier whose signed attestation results the policy accepts.',
  {
    name: str('Name of the verifier, used in status and messages.', {
      pattern: DNS1123_SUBDOMAIN,
      maxLength: 63,
    }),
    issuer: str('Expected iss claim; tokens from any other issuer are rejected.', {
      minLength: 1,
      maxLength: 1024,
    }),
    jwks: obj(
      'Public keys of the verifier, as a JSON Web Key Set.',
      {
        keys: arr(
          'The keys; each should carry a kid.',
          { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          { minItems: 1, maxItems: 32 },
        ),
      },
      { required: ['keys'] },
    ),
    jwksSecretRef: secretKeyRef,
    algorithms: arr(
      'Signature algorithms accepted from this verifier (asymmetric only).',
      enumOf('A JWS algorithm.', [...SIGNING_ALGORITHMS]),
      { minItems: 1, default: ['ES256'], 'x-kubernetes-list-type': 'set' },
    ),
  },
  {
    required: ['name', 'issuer'],
    'x-kubernetes-validations': [
      {
        rule: 'has(self.jwks) != has(self.jwksSecretRef)',
        message: 'set exactly one of jwks and jwksSecretRef',
      },
    ],
  },
);

const trustworthiness = obj(
  'Ceiling per AR4SI trustworthiness category: the worst EAR tier the policy accepts for it (tiers order none < affirming < warning < contraindicated, as in EAR).',
  Object.fromEntries(
    TRUSTWORTHINESS_CATEGORIES.map((c) => [
      c,
      enumOf(`Ceiling for ${c}.`, ['none', 'affirming', 'warning', 'contraindicated']),
    ]),
  ),
);

const policySpec = obj(
  'What a node must prove, for which workloads, and what happens when it stops proving it.',
  {
    nodeSelector: labelSelector('The node pool this policy governs; empty selects every node.'),
    workloadSelector: obj('The pods this policy governs; empty selects every pod.', {
      namespaceSelector: labelSelector('Namespaces whose pods are governed.'),
      podSelector: labelSelector('Pods that are governed.'),
    }),
    attestation: obj(
      'What a node in the pool must prove, and how fresh the proof must be.',
      {
        verifiers: arr('Trusted endpoint verifiers.', verifier, {
          minItems: 1,
          maxItems: 16,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
        }),
        maxAge: duration('How old an attestation may be (iat) before it is stale.', {
          default: '5m',
        }),
        clockSkew: duration('How far in the future iat may be, for clock drift.', {
          default: '30s',
        }),
        requireNonce: bool(
          'Require eat_nonce to equal the nonce trustgate publishes in the NodeAttestation status.',
          { default: false },
        ),
        nonceOverlap: duration(
          'With requireNonce: how long the nonce a rotation replaced is still accepted, so the current token stays valid until the verifier re-attests with the new one. Set it a little over the verifier re-attest interval (trustgate attest publish --interval, default 30s); at most 10m, and never beyond the token own freshness.',
          { default: '45s' },
        ),
        minimumStatus: enumOf(
          'The least trustworthy ear.status accepted from every appraised submodule (affirming > warning > none > contraindicated).',
          ['affirming', 'warning', 'none'],
          { default: 'affirming' },
        ),
        submods: arr(
          'Submodules to appraise; empty appraises every submodule in the token.',
          { type: 'string', maxLength: 128 },
          { maxItems: 32 },
        ),
        trustworthiness,
        posture: arr('Requirements on posture claims; all must hold.', postureRequirement, {
          maxItems: 64,
        }),
      },
      {
        required: ['verifiers'],
        'x-kubernetes-validations': [
          {
            rule: "duration(self.maxAge) >= duration('1s') && duration(self.maxAge) <= duration('168h')",
            message: 'maxAge must be between 1s and 168h',
            fieldPath: '.maxAge',
          },
          {
            // Bounded: an old nonce accepted for long would undo what requireNonce proves.
            rule: "duration(self.nonceOverlap) >= duration('0s') && duration(self.nonceOverlap) <= duration('10m')",
            message: 'nonceOverlap must be between 0s and 10m',
            fieldPath: '.nonceOverlap',
          },
        ],
      },
    ),
    workloadIdentity: obj(
      'What governed workloads need.',
      {
        requireGrant: bool(
          'Governed pods need an active WorkloadGrant for their service account.',
          {
            default: true,
          },
        ),
        maxExpirationSeconds: int(
          'Ceiling on projected service-account token lifetimes, whatever the grant says.',
          { minimum: 600, maximum: 31536000, default: 3600 },
        ),
        allowLegacyTokenSecrets: bool(
          'Allow volumes of kubernetes.io/service-account-token Secrets (long-lived tokens).',
          { default: false },
        ),
      },
      // default {} makes the API server fill the nested defaults when the object is absent.
      { default: {} },
    ),
    enforcement: obj(
      'How the policy is enforced.',
      {
        mode: enumOf(
          'Enforce denies and revokes; Audit admits with warnings and only reports.',
          ['Enforce', 'Audit'],
          {
            default: 'Enforce',
          },
        ),
        onDrift: obj(
          'What happens when a governed node stops being trusted.',
          {
            gracePeriod: duration('How long a node may be untrusted before drift actions start.', {
              default: '0s',
            }),
            bootstrapGracePeriod: duration(
              'How long a new node may run without any attestation before it counts as drifted.',
              { default: '10m' },
            ),
            taint: bool(
              'Taint the node trustgate.dev/untrusted=<policy>:NoSchedule when drift actions start. Either way an untrusted node carries trustgate.dev/untrusted=<policy>:PreferNoSchedule until then, so the scheduler prefers trusted nodes.',
              { default: true },
            ),
            podAction: enumOf(
              'How governed pods on a drifted node are removed; ForceDelete kills their bound tokens soonest.',
              ['ForceDelete', 'Delete', 'Evict', 'None'],
              { default: 'ForceDelete' },
            ),
            deleteLegacyTokenSecrets: bool(
              'Delete legacy token Secrets of the affected service accounts.',
              { default: true },
            ),
          },
          { default: {} },
        ),
      },
      { default: {} },
    ),
    exemptions: arr(
      'Break-glass exemptions; each ends at its expiry.',
      obj(
        'One exemption.',
        {
          name: str('Name of the exemption, for audit.', { maxLength: 63, minLength: 1 }),
          namespaces: arr(
            'Namespaces exempted.',
            { type: 'string', maxLength: 63 },
            { maxItems: 64 },
          ),
          podSelector: labelSelector('Pods exempted.'),
          expiresAt: str('When the exemption ends.', { format: 'date-time' }),
          reason: str('Why, for the audit trail.', { maxLength: 1024 }),
        },
        {
          required: ['name', 'expiresAt', 'reason'],
          'x-kubernetes-validations': [
            {
              rule: '(has(self.namespaces) && size(self.namespaces) > 0) || has(self.podSelector)',
              message: 'an exemption names namespaces or a podSelector',
            },
          ],
        },
      ),
      { maxItems: 32, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
  },
  { required: ['attestation'] },
);

const revocationRecord = obj('The last revocation carried out.', {
  time: str('When it finished.', { format: 'date-time' }),
  node: str('The node that drifted, if any.'),
  policy: str('The policy under which trust was lost.'),
  reason: str('Why.'),
  podsRemoved: int('Pods removed.', { minimum: 0 }),
  secretsDeleted: int('Legacy token Secrets deleted.', { minimum: 0 }),
  serviceAccountRotated: bool('The service account was recreated (new UID).'),
});

/** The longest an exemption may last, from its creation: break-glass is for incidents. */
export const MAX_EXEMPTION_SECONDS = 7 * 24 * 3600;

const trustExemption: CrdSource = {
  kind: 'TrustExemption',
  plural: 'trustexemptions',
  singular: 'trustexemption',
  shortNames: ['tex', 'exemption'],
  // Namespaced so RBAC can hand out break-glass per namespace (a RoleBinding), apart from
  // the right to edit policies; one in trustgate's own namespace reaches every namespace.
  scope: 'Namespaced',
  description:
    "Break-glass: lifts EndpointTrustPolicies for the pods it selects until expiresAt (at most 7 days after creation). Selects pods of its own namespace, or of every namespace when it lives in trustgate's namespace.",
  spec: obj(
    'Which pods are exempted from which policies, until when, and why.',
    {
      policies: arr(
        'Names of the EndpointTrustPolicies lifted; empty lifts every policy.',
        { type: 'string', pattern: DNS1123_SUBDOMAIN, maxLength: 63 },
        { maxItems: 32, 'x-kubernetes-list-type': 'set' },
      ),
      podSelector: labelSelector('Pods exempted, by label; absent selects every pod.'),
      serviceAccountNames: arr(
        'Service accounts whose pods are exempted; empty means any.',
        { type: 'string', pattern: DNS1123_SUBDOMAIN, maxLength: 253 },
        { maxItems: 32, 'x-kubernetes-list-type': 'set' },
      ),
      nodeNames: arr(
        "Nodes on which pods are exempted (the pod's node, the binding target, the kubelet asking for a token); empty means any node.",
        { type: 'string', pattern: DNS1123_SUBDOMAIN, maxLength: 253 },
        { maxItems: 64, 'x-kubernetes-list-type': 'set' },
      ),
      expiresAt: str(
        'When the exemption ends; at most 7 days after creation. It stops applying by itself.',
        { format: 'date-time' },
      ),
      reason: str('Why, and who approved it, for the audit trail.', {
        minLength: 1,
        maxLength: 1024,
      }),
    },
    {
      required: ['expiresAt', 'reason'],
      'x-kubernetes-validations': [
        {
          // CEL cannot read creationTimestamp or the clock: the 7-day bound is checked by
          // the webhook and by the decision, which ignores a longer exemption.
          rule: 'timestamp(self.expiresAt) <= timestamp(oldSelf.expiresAt)',
          message: 'expiresAt may be brought forward but never extended; create a new exemption',
          fieldPath: '.expiresAt',
        },
      ],
    },
  ),
  // Nothing to observe: whether it applies is decided from spec and the clock on every review.
  status: obj('Unused: an exemption is read, never reconciled.', {}),
  // kubectl prints a future `date` as <invalid>, so EXPIRES is the timestamp; AGE next to it
  // tells how much of the (at most 7-day) window is used.
  printerColumns: [
    { name: 'Policies', type: 'string', jsonPath: '.spec.policies' },
    { name: 'Expires', type: 'string', jsonPath: '.spec.expiresAt' },
    { name: 'Reason', type: 'string', jsonPath: '.spec.reason', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};

export const CRDS: CrdSource[] = [
  {
    kind: 'NodeAttestation',
    plural: 'nodeattestations',
    singular: 'nodeattestation',
    shortNames: ['na', 'nodeatt'],
    scope: 'Cluster',
    description:
      "A node's latest signed attestation result (EAR JWS) from an endpoint verifier. The name is the node's name.",
    spec: obj(
      'The attestation as the verifier wrote it.',
      {
        token: str('Compact JWS carrying an EAR attestation result whose sub is the node.', {
          minLength: 16,
          maxLength: 16384,
          pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$',
        }),
      },
      { required: ['token'] },
    ),
    status: obj('What trustgate read and decided.', {
      observedGeneration: int('The generation last evaluated.', { minimum: 0 }),
      conditions: conditions(),
      verified: bool('The token verified against a trusted verifier key.'),
      verifier: str('Name of the verifier whose key verified the token.'),
      keyID: str('kid of the key that verified the token.'),
      issuer: str('iss of the token.'),
      issuedAt: str('iat of the token.', { format: 'date-time' }),
      expiresAt: str('When the attestation goes stale under the strictest governing policy.', {
        format: 'date-time',
      }),
      earStatus: str('Worst ear.status across the appraised submodules.'),
      posture: {
        type: 'object',
        description: 'The posture claims read from the token.',
        'x-kubernetes-preserve-unknown-fields': true,
      },
      nonce: obj('The nonce the next attestation must carry when a policy requires one.', {
        value: str('The nonce.'),
        issuedAt: str('When it was issued.', { format: 'date-time' }),
        previous: obj(
          'The nonce this one replaced: still accepted for the policy nonceOverlap after retiredAt.',
          {
            value: str('The replaced nonce.'),
            retiredAt: str('When it was replaced.', { format: 'date-time' }),
          },
        ),
      }),
      trustedBy: str('Comma-separated policies under which the node is trusted.'),
      results: arr(
        'One result per governing policy.',
        obj(
          'Trust under one policy.',
          {
            policy: str('Policy name.'),
            trusted: bool('The node is trusted under the policy.'),
            evaluatedAt: str('When.', { format: 'date-time' }),
            reasons: arr('Why not, when untrusted.', reason),
          },
          { required: ['policy', 'trusted'] },
        ),
        { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['policy'] },
      ),
    }),
    // NAME is the node already. A `date` column prints an age ("40s"), which reads well
    // for when the token was issued; a future time prints `<invalid>`, so the expiry is
    // a plain timestamp.
    printerColumns: [
      { name: 'Verified', type: 'boolean', jsonPath: '.status.verified' },
      { name: 'Trusted-By', type: 'string', jsonPath: '.status.trustedBy' },
      {
        name: 'Ear-Status',
        type: 'string',
        jsonPath: '.status.earStatus',
        description: 'Worst ear.status across the appraised submodules.',
        priority: 1,
      },
      { name: 'Verifier', type: 'string', jsonPath: '.status.verifier', priority: 1 },
      {
        name: 'Issued',
        type: 'date',
        jsonPath: '.status.issuedAt',
        description: 'How long ago the verifier signed the attestation (iat).',
      },
      {
        name: 'Expires',
        type: 'string',
        jsonPath: '.status.expiresAt',
        description: 'When the attestation goes stale under the strictest governing policy.',
      },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
  {
    kind: 'EndpointTrustPolicy',
    plural: 'endpointtrustpolicies',
    singular: 'endpointtrustpolicy',
    shortNames: ['etp', 'trustpolicy'],
    scope: 'Cluster',
    description:
      'What nodes must prove and what governed workloads need, and how drift is enforced.',
    spec: policySpec,
    status: obj('Observed state of the policy.', {
      observedGeneration: int('The generation last reconciled.', { minimum: 0 }),
      conditions: conditions(),
      governedNodes: int('Nodes in the pool.', { minimum: 0 }),
      trustedNodes: int('Nodes in the pool that are trusted.', { minimum: 0 }),
      untrustedNodes: int('Nodes in the pool that are not trusted.', { minimum: 0 }),
    }),
    printerColumns: [
      { name: 'Mode', type: 'string', jsonPath: '.spec.enforcement.mode' },
      { name: 'Governed', type: 'integer', jsonPath: '.status.governedNodes' },
      { name: 'Trusted', type: 'integer', jsonPath: '.status.trustedNodes' },
      { name: 'Untrusted', type: 'integer', jsonPath: '.status.untrustedNodes' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    rootValidations: [
      {
        rule: 'self.metadata.name.size() <= 63',
        message: 'policy names are at most 63 characters: they become node label keys',
      },
    ],
  },
  {
    kind: 'WorkloadGrant',
    plural: 'workloadgrants',
    singular: 'workloadgrant',
    shortNames: ['wg', 'grant'],
    scope: 'Namespaced',
    description:
      "A service account's right to run where a policy holds, with limits on its tokens.",
    spec: obj(
      'The grant.',
      {
        serviceAccountName: str('The service account in this namespace.', {
          pattern: DNS1123_SUBDOMAIN,
          maxLength: 253,
        }),
        policyRef: obj(
          'The EndpointTrustPolicy this grant is for.',
          { name: str('Policy name.', { pattern: DNS1123_SUBDOMAIN, maxLength: 63 }) },
          { required: ['name'] },
        ),
        audiences: arr(
          "Audiences projected tokens may carry; empty allows only the API server's default audience.",
          { type: 'string', minLength: 1, maxLength: 1024 },
          { maxItems: 32, 'x-kubernetes-list-type': 'set' },
        ),
        maxExpirationSeconds: int('Longest projected token lifetime allowed.', {
          minimum: 600,
          maximum: 31536000,
          default: 3600,
        }),
        validity: obj(
          'Optional window for a just-in-time grant; outside it the grant is not active.',
          {
            notBefore: str('Start of the window.', { format: 'date-time' }),
            notAfter: str('End of the window; expiry revokes like drift.', { format: 'date-time' }),
          },
          {
            'x-kubernetes-validations': [
              {
                rule: '!has(self.notBefore) || !has(self.notAfter) || timestamp(self.notAfter) > timestamp(self.notBefore)',
                message: 'notAfter must be after notBefore',
                fieldPath: '.notAfter',
              },
            ],
          },
        ),
        rotateServiceAccount: bool(
          'On revocation, recreate the service account so every old token dies with the old UID.',
          { default: false },
        ),
      },
      { required: ['serviceAccountName', 'policyRef'] },
    ),
    status: obj('Observed state of the grant.', {
      observedGeneration: int('The generation last reconciled.', { minimum: 0 }),
      conditions: conditions(),
      boundPods: int('Running pods using the grant.', { minimum: 0 }),
      lastRevocation: revocationRecord,
    }),
    printerColumns: [
      { name: 'Service-Account', type: 'string', jsonPath: '.spec.serviceAccountName' },
      { name: 'Policy', type: 'string', jsonPath: '.spec.policyRef.name' },
      {
        name: 'Active',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Active")].status',
      },
      { name: 'Pods', type: 'integer', jsonPath: '.status.boundPods' },
      // A timestamp: as a `date` (an age) a future time prints `<invalid>`.
      { name: 'Expires', type: 'string', jsonPath: '.spec.validity.notAfter' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
  trustExemption,
];

/** The CustomResourceDefinition object for one source entry. */
export function toCustomResourceDefinition(crd: CrdSource): Record<string, unknown> {
  const root: JSONSchemaProps = obj(crd.description, {
    apiVersion: str('APIVersion of this object.'),
    kind: str('Kind of this object.'),
    metadata: { type: 'object' },
    spec: crd.spec,
    status: crd.status,
  });
  root.required = ['spec'];
  if (crd.rootValidations) root['x-kubernetes-validations'] = crd.rootValidations;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${crd.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'trustgate', 'app.kubernetes.io/part-of': 'trustgate' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: crd.kind,
        listKind: `${crd.kind}List`,
        plural: crd.plural,
        singular: crd.singular,
        shortNames: crd.shortNames,
        categories: ['trustgate'],
      },
      scope: crd.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: root },
          subresources: { status: {} },
          additionalPrinterColumns: crd.printerColumns,
        },
      ],
    },
  };
}
