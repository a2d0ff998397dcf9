// `trustgate keys generate`: a signing key pair for a verifier (or for tests and demos):
// the private JWK for `trustgate attest sign` and the public JWKS a policy trusts.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { SIGNING_ALGORITHMS } from '../../api/crds.ts';
import { type CliIO, type Command, EXIT, parseFlags, UsageError } from '../io.ts';

const USAGE = `Usage: trustgate keys generate --alg ALG [--kid KID] --out DIR [--force]

Generates a signing key pair and writes
  DIR/private.jwk  the private JWK (mode 0600) for \`trustgate attest sign --key\`
  DIR/jwks.json    the public JWKS for a policy verifier's jwks (or a jwksSecretRef Secret)

  --alg ALG   one of ${SIGNING_ALGORITHMS.join(', ')} (default ES256)
  --kid KID   key id (default: the key's RFC 7638 thumbprint)
  --out DIR   output directory (created if missing)
  --force     overwrite existing files`;

async function generate(args: string[], io: CliIO): Promise<number> {
  const values = parseFlags(
    args,
    {
      alg: { type: 'string', default: 'ES256' },
      kid: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
    USAGE,
  );
  const alg = values.alg as string;
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new UsageError(
      `--alg ${alg} is not supported; use one of ${SIGNING_ALGORITHMS.join(', ')}`,
    );
  }
  if (!values.out) throw new UsageError(`--out DIR is required\n\n${USAGE}`);
  if (values.kid !== undefined && !/^[\x21-\x7e]{1,128}$/.test(values.kid)) {
    throw new UsageError('--kid must be 1 to 128 printable characters without spaces');
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = values.kid ?? (await calculateJwkThumbprint(publicJwk));
  const meta = { kid, alg, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), ...meta };
  const jwks = { keys: [{ ...publicJwk, ...meta }] };

  const dir = values.out;
  const privatePath = path.join(dir, 'private.jwk');
  const jwksPath = path.join(dir, 'jwks.json');
  const flag = values.force ? 'w' : 'wx';
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(privatePath, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600, flag });
    await writeFile(jwksPath, `${JSON.stringify(jwks, null, 2)}\n`, { flag });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') {
      throw new UsageError(`${e.path ?? dir} already exists; pass --force to overwrite`);
    }
    throw new UsageError(`cannot write to ${dir}: ${e.code ?? e.message}`);
  }
  io.stdout(
    `wrote ${privatePath} (private key, keep it secret) and ${jwksPath} (public JWKS); kid ${kid}, alg ${alg}\n`,
  );
  return EXIT.ok;
}

export const command: Command = {
  usage: USAGE,
  run: generate,
};
