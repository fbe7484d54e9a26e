/** jose as its README shows it: createRemoteJWKSet at init, jwtVerify per request. */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { coldInputs, report } from './common';

const inputs = coldInputs();
const keys = createRemoteJWKSet(new URL(inputs.jwksUri));
report(jwtVerify(inputs.token, keys, { issuer: inputs.issuer, audience: inputs.audience, algorithms: [inputs.alg] }));
