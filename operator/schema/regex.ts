// CRD `pattern`s and CEL `matches()` are RE2 (Go regexp). This translates the RE2
// syntax that has a different spelling in ECMAScript into a `u`-mode RegExp, and
// refuses what it cannot translate so a pattern never silently means something else.

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// Characters that may be escaped with a backslash in `u` mode outside a class.
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

export class RegexSyntaxError extends Error {
  override name = 'RegexSyntaxError';
}

/** Translates an RE2 pattern to an equivalent JavaScript RegExp, or throws RegexSyntaxError. */
export function re2ToRegExp(pattern: string): RegExp {
  let source = pattern;
  let flags = 'u';
  const leading = /^\(\?([imsU]+)\)/.exec(source);
  if (leading) {
    const f = leading[1] ?? '';
    if (f.includes('U'))
      throw new RegexSyntaxError('the RE2 U (ungreedy) flag has no JavaScript equivalent');
    for (const c of f) if (!flags.includes(c)) flags += c;
    source = source.slice(leading[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      const n = source[i + 1];
      if (n === undefined) throw new RegexSyntaxError('trailing backslash at end of expression');
      i++;
      if (n === 'z' && !inClass) out += '$(?![\\s\\S])';
      else if (n === 'A' && !inClass) out += '^';
      else if (n === 'Q' || n === 'C' || n === 'p' || n === 'P') {
        if (n === 'p' || n === 'P') {
          out += `\\${n}`;
          continue;
        }
        throw new RegexSyntaxError(`\\${n} is not supported`);
      } else if (/[A-Za-z0-9]/.test(n)) out += `\\${n}`;
      else if (JS_SYNTAX.has(n) || (inClass && n === '-')) out += `\\${n}`;
      else out += n === ']' || n === '[' ? `\\${n}` : n;
      continue;
    }
    if (inClass) {
      if (c === '[' && source[i + 1] === ':') {
        const end = source.indexOf(':]', i + 2);
        const name = end > 0 ? source.slice(i + 2, end) : '';
        const negated = name.startsWith('^');
        const body = POSIX_CLASSES[negated ? name.slice(1) : name];
        if (body === undefined || negated) {
          throw new RegexSyntaxError(`invalid character class range: [:${name}:]`);
        }
        out += body;
        i = end + 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === '^') {
        out += '^';
        i++;
      }
      // A ']' right after '[' or '[^' is a literal in RE2.
      if (source[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      if (source[i + 2] === 'P' && source[i + 3] === '<') {
        out += '(?<';
        i += 3;
        continue;
      }
      if (source[i + 2] !== ':' && source[i + 2] !== '<') {
        throw new RegexSyntaxError('inline flags inside a pattern are not supported');
      }
    }
    out += c;
  }
  try {
    return new RegExp(out, flags);
  } catch (err) {
    throw new RegexSyntaxError(err instanceof Error ? err.message : String(err));
  }
}

const cache = new Map<string, RegExp>();

/** re2ToRegExp with a cache, for CEL matches() whose patterns are usually constants. */
export function cachedRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = re2ToRegExp(pattern);
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}
