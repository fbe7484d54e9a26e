/**
 * aws-jwt-verify with its own JWKS cache. Its default fetcher speaks https only, and the loopback
 * issuer is http, so the cache gets a fetcher built on the global fetch; parsing and caching are its own.
 */
import { JwtVerifier } from 'aws-jwt-verify';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { coldInputs, report } from './common';

const inputs = coldInputs();
const verifier = JwtVerifier.create(
  { issuer: inputs.issuer, audience: inputs.audience, jwksUri: inputs.jwksUri },
  { jwksCache: new SimpleJwksCache({ fetcher: { fetch: async (uri: string) => (await fetch(uri)).arrayBuffer() } }) },
);
report(verifier.verify(inputs.token));
