import { describe, expect, test } from '@jest/globals';
import { checkPosture, claimAt, compareVersions, REASON } from '../../../operator/trust/index.ts';

const posture = {
  diskEncryption: true,
  secureBoot: false,
  patchAgeDays: 3,
  patchAgeText: '20',
  enrollment: 'managed',
  edr: { healthy: true, version: '7.2.1', vendor: null },
  tags: ['a', 'b'],
};

type Op = Parameters<typeof checkPosture>[0]['operator'];
const check = (key: string, operator: Op, values?: string[]) =>
  checkPosture({ key, operator, ...(values ? { values } : {}) }, posture);
const passes = (key: string, operator: Op, values?: string[]) =>
  expect(check(key, operator, values)).toBeUndefined();
const fails = (key: string, operator: Op, values?: string[]) => {
  const f = check(key, operator, values);
  expect(f?.code).toBe(REASON.PostureRequirementFailed);
  return f;
};

describe('claimAt', () => {
  test('reads dotted own properties only', () => {
    expect(claimAt(posture, 'edr.version')).toBe('7.2.1');
    expect(claimAt(posture, 'edr.missing')).toBeUndefined();
    expect(claimAt(posture, 'edr.version.major')).toBeUndefined();
    expect(claimAt(posture, 'toString')).toBeUndefined();
    expect(claimAt(posture, 'edr.constructor')).toBeUndefined();
    expect(claimAt(posture, 'tags.0')).toBeUndefined();
    expect(claimAt(undefined, 'x')).toBeUndefined();
  });
  test('null counts as missing', () => {
    expect(claimAt(posture, 'edr.vendor')).toBeUndefined();
  });
});

describe('posture operators', () => {
  test('Equals compares String(claim)', () => {
    passes('diskEncryption', 'Equals', ['true']);
    passes('patchAgeDays', 'Equals', ['3']);
    passes('enrollment', 'Equals', ['managed']);
    const f = fails('secureBoot', 'Equals', ['true']);
    expect(f?.found).toBe('posture secureBoot is false');
    expect(f?.requires).toBe('requires Equals "true"');
    fails('edr', 'Equals', ['[object Object]']);
    fails('tags', 'Equals', ['a,b']);
  });
  test('NotEquals', () => {
    passes('enrollment', 'NotEquals', ['byod']);
    fails('enrollment', 'NotEquals', ['managed']);
  });
  test('In and NotIn', () => {
    passes('enrollment', 'In', ['managed', 'corporate']);
    fails('enrollment', 'In', ['byod']);
    passes('enrollment', 'NotIn', ['byod']);
    fails('enrollment', 'NotIn', ['byod', 'managed']);
    fails('edr', 'In', ['x']);
  });
  test('Exists and DoesNotExist', () => {
    passes('edr.healthy', 'Exists');
    fails('edr.missing', 'Exists');
    fails('edr.vendor', 'Exists');
    passes('edr.missing', 'DoesNotExist');
    passes('edr.vendor', 'DoesNotExist');
    expect(check('edr.healthy', 'DoesNotExist')?.found).toBe('posture edr.healthy is present');
  });
  test('LessThanOrEqual and GreaterThanOrEqual compare numbers', () => {
    passes('patchAgeDays', 'LessThanOrEqual', ['3']);
    passes('patchAgeDays', 'LessThanOrEqual', ['14']);
    fails('patchAgeDays', 'LessThanOrEqual', ['2']);
    passes('patchAgeDays', 'GreaterThanOrEqual', ['3']);
    fails('patchAgeDays', 'GreaterThanOrEqual', ['3.5']);
    passes('patchAgeText', 'GreaterThanOrEqual', ['19.5']);
    expect(fails('enrollment', 'LessThanOrEqual', ['1'])?.found).toContain('not a number');
    fails('diskEncryption', 'GreaterThanOrEqual', ['0']);
    expect(fails('patchAgeDays', 'LessThanOrEqual', ['abc'])?.found).toContain('policy value');
  });
  test('VersionAtLeast compares dotted versions numerically', () => {
    passes('edr.version', 'VersionAtLeast', ['7.2.1']);
    passes('edr.version', 'VersionAtLeast', ['7.2']);
    passes('edr.version', 'VersionAtLeast', ['v7.1.9']);
    fails('edr.version', 'VersionAtLeast', ['7.10']);
    fails('edr.version', 'VersionAtLeast', ['8']);
    expect(fails('enrollment', 'VersionAtLeast', ['1'])?.found).toContain('not a dotted version');
    expect(fails('edr.version', 'VersionAtLeast', ['latest'])?.found).toContain('policy value');
    expect(compareVersions([14, 2], [14, 2, 0])).toBe(0);
    expect(compareVersions([14, 10], [14, 9, 9])).toBe(1);
  });
  test('a missing claim fails every operator except DoesNotExist', () => {
    const ops: [Op, string[] | undefined][] = [
      ['Equals', ['x']],
      ['NotEquals', ['x']],
      ['In', ['x']],
      ['NotIn', ['x']],
      ['Exists', undefined],
      ['LessThanOrEqual', ['1']],
      ['GreaterThanOrEqual', ['1']],
      ['VersionAtLeast', ['1']],
    ];
    for (const [op, values] of ops) {
      expect(fails('nope.deeper', op, values)?.found).toBe('posture nope.deeper is missing');
    }
    passes('nope.deeper', 'DoesNotExist');
  });
  test('a malformed requirement fails closed', () => {
    fails('enrollment', 'Equals', []);
    fails('enrollment', 'In', []);
    fails('enrollment', 'Bogus' as Op, ['x']);
  });
});
