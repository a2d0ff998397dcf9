// Small builders for OpenAPI v3 structural schemas, so the CRD source reads like
// the API it describes and repeated shapes (selectors, conditions) are written once.

export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  enum?: (string | number | boolean)[];
  pattern?: string;
  format?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: {
    rule: string;
    message: string;
    fieldPath?: string;
    reason?: string;
  }[];
}

type Extra = Omit<JSONSchemaProps, 'type'>;

export const str = (description: string, extra: Extra = {}): JSONSchemaProps => ({
  type: 'string',
  description,
  ...extra,
});
export const int = (description: string, extra: Extra = {}): JSONSchemaProps => ({
  type: 'integer',
  description,
  ...extra,
});
export const bool = (description: string, extra: Extra = {}): JSONSchemaProps => ({
  type: 'boolean',
  description,
  ...extra,
});
export const arr = (
  description: string,
  items: JSONSchemaProps,
  extra: Extra = {},
): JSONSchemaProps => ({ type: 'array', description, items, ...extra });
export const obj = (
  description: string,
  properties: Record<string, JSONSchemaProps>,
  extra: Extra = {},
): JSONSchemaProps => ({ type: 'object', description, properties, ...extra });
export const enumOf = (description: string, values: string[], extra: Extra = {}) =>
  str(description, { enum: values, ...extra });
export const map = (description: string, values: JSONSchemaProps): JSONSchemaProps => ({
  type: 'object',
  description,
  additionalProperties: values,
});

/** Go-style duration as kube writes them: "90s", "5m", "1h30m". */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
export const duration = (description: string, extra: Extra = {}) =>
  str(description, { pattern: DURATION_PATTERN, maxLength: 32, ...extra });

export const DNS1123_SUBDOMAIN =
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

export const labelSelector = (description: string): JSONSchemaProps =>
  obj(
    description,
    {
      matchLabels: map('Labels that must all match.', { type: 'string' }),
      matchExpressions: arr(
        'Set-based requirements that must all hold.',
        obj(
          'One label requirement.',
          {
            key: str('The label key.', { minLength: 1, maxLength: 317 }),
            operator: enumOf('How the key relates to the values.', [
              'In',
              'NotIn',
              'Exists',
              'DoesNotExist',
            ]),
            values: arr('Values for In and NotIn; empty for Exists and DoesNotExist.', {
              type: 'string',
            }),
          },
          {
            required: ['key', 'operator'],
            'x-kubernetes-validations': [
              {
                rule: "self.operator in ['In', 'NotIn'] ? size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
                message: 'In and NotIn need values; Exists and DoesNotExist take none',
              },
            ],
          },
        ),
        // Bounded so kube-apiserver's CEL cost estimate for the rule above stays within
        // budget: unbounded, it assumes ~1M items and refuses the CRD.
        { maxItems: 64 },
      ),
    },
    { 'x-kubernetes-map-type': 'atomic' },
  );

export const conditions = (): JSONSchemaProps =>
  arr(
    'The latest observations of the object, in metav1.Condition form.',
    obj(
      'One condition.',
      {
        type: str('Condition type in CamelCase.', {
          maxLength: 316,
          pattern:
            '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
        }),
        status: enumOf('True, False or Unknown.', ['True', 'False', 'Unknown']),
        observedGeneration: int('The generation the condition was set for.', { minimum: 0 }),
        lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
        reason: str('Machine-readable CamelCase reason.', {
          maxLength: 1024,
          minLength: 1,
          pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
        }),
        message: str('Human-readable detail.', { maxLength: 32768 }),
      },
      { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
    ),
    { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
  );
