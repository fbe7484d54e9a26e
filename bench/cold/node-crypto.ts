/** The floor: fetch the JWKS with node:http, import the key with node:crypto, check the signature; no claim checks. */
import { createPublicKey, verify } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import { get } from 'node:http';
import { coldInputs, report } from './common';

const inputs = coldInputs();

function fetchJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      response.on('error', reject);
    }).on('error', reject);
  });
}

report(
  (async () => {
    const jwks = (await fetchJson(inputs.jwksUri)) as { keys: (JsonWebKey & { kid?: string })[] };
    const header = JSON.parse(Buffer.from(inputs.token.split('.')[0], 'base64url').toString()) as { kid?: string };
    const jwk = jwks.keys.find((candidate) => candidate.kid === header.kid);
    if (jwk === undefined) throw new Error('no key for kid');
    const dot = inputs.token.lastIndexOf('.');
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    if (!verify('sha256', Buffer.from(inputs.token.slice(0, dot)), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(inputs.token.slice(dot + 1), 'base64url'))) {
      throw new Error('bad signature');
    }
  })(),
);
