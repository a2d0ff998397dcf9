import { describe, expect, it } from '@jest/globals';
import { RegexSyntaxError, re2ToRegExp } from '../../../operator/schema/regex.ts';

describe('RE2 patterns as JavaScript RegExps', () => {
  it('keeps the patterns the trustgate CRDs use meaning the same', () => {
    const dns = re2ToRegExp('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$');
    expect(dns.test('ci-runners.example')).toBe(true);
    expect(dns.test('-bad')).toBe(false);
    const jws = re2ToRegExp('^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$');
    expect(jws.test('a.b.')).toBe(true);
    expect(jws.test('a.b')).toBe(false);
  });

  it('translates RE2-only spellings', () => {
    expect(re2ToRegExp('(?i)^abc$').test('ABC')).toBe(true);
    expect(re2ToRegExp('^[[:digit:]]+$').test('123')).toBe(true);
    expect(re2ToRegExp('^[[:digit:]]+$').test('12a')).toBe(false);
    expect(re2ToRegExp('(?P<year>\\d{4})').exec('in 2026')?.groups?.year).toBe('2026');
    expect(re2ToRegExp('\\Aab\\z').test('ab')).toBe(true);
    expect(re2ToRegExp('\\Aab\\z').test('ab\n')).toBe(false);
    expect(re2ToRegExp('a\\-b\\:c').test('a-b:c')).toBe(true);
    expect(re2ToRegExp('[]a]').test(']')).toBe(true);
  });

  it('refuses what it cannot translate or what is not a regexp', () => {
    for (const bad of ['(', 'a(?i)b', '(?U)a*', '[[:nope:]]', '\\']) {
      expect(() => re2ToRegExp(bad)).toThrow(RegexSyntaxError);
    }
  });
});
