/**
 * aws-jwt-verify with its own JWKS cache and its own fetcher, which is node:https. The loopback issuer
 * speaks plain HTTP, so the fetcher is handed an http.Agent: the request code is still the library's,
 * only the socket is not TLS, as for every other candidate here.
 */
import { Agent } from 'node:http';
import { JwtVerifier } from 'aws-jwt-verify';
import { SimpleFetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { coldInputs, report } from './common';

const inputs = coldInputs();
const verifier = JwtVerifier.create(
  { issuer: inputs.issuer, audience: inputs.audience, jwksUri: inputs.jwksUri },
  { jwksCache: new SimpleJwksCache({ fetcher: new SimpleFetcher({ defaultRequestOptions: { agent: new Agent() } }) }) },
);
report(verifier.verify(inputs.token));
