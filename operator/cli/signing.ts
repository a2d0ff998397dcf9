// The verifier key and appraisal flags shared by `attest sign` and `attest publish`.
import { importJWK, type JWK } from 'jose';
import { SIGNING_ALGORITHMS, TRUSTWORTHINESS_CATEGORIES } from '../api/crds.ts';
import type { SigningKey } from '../verifier/sign.ts';
import { UsageError } from './io.ts';
import { readObject } from './read-input.ts';

/** Parses `hardware=2,executables=-33` into AR4SI claims, refusing unknown categories. */
export function parseVector(text: string): Record<string, number> {
  const vector: Record<string, number> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [name, value, ...rest] = part.split('=');
    if (!name || value === undefined || rest.length > 0) {
      throw new UsageError(`--vector: "${part}" is not CATEGORY=VALUE`);
    }
    if (!(TRUSTWORTHINESS_CATEGORIES as readonly string[]).includes(name)) {
      throw new UsageError(
        `--vector: unknown category "${name}"; use ${TRUSTWORTHINESS_CATEGORIES.join(', ')}`,
      );
    }
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < -128 || n > 127) {
      throw new UsageError(`--vector: ${name}=${value} is not an integer from -128 to 127`);
    }
    vector[name] = n;
  }
  return vector;
}

/** The private JWK in `file`, imported for its (or --alg's) algorithm. */
export async function loadPrivateKey(
  file: string,
  algFlag: string | undefined,
): Promise<SigningKey> {
  const jwk = (await readObject(file, 'private JWK')) as JWK;
  if (typeof jwk.d !== 'string') throw new UsageError(`${file}: not a private JWK (no "d")`);
  const alg = algFlag ?? jwk.alg;
  if (!alg || !(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new UsageError(
      `${file}: cannot sign with alg ${alg ?? '(none)'}; pass --alg with one of ${SIGNING_ALGORITHMS.join(', ')}`,
    );
  }
  try {
    return { key: await importJWK(jwk, alg), alg, kid: jwk.kid };
  } catch (err) {
    throw new UsageError(`${file}: cannot use the key with ${alg}: ${(err as Error).message}`);
  }
}
