/** jsonwebtoken with jwks-rsa, the combination most Express tutorials show. */
import jsonwebtoken from 'jsonwebtoken';
import { JwksClient } from 'jwks-rsa';
import { coldInputs, report } from './common';

const inputs = coldInputs();
const client = new JwksClient({ jwksUri: inputs.jwksUri, cache: true, rateLimit: false });
report(
  (async () => {
    const decoded = jsonwebtoken.decode(inputs.token, { complete: true });
    const key = await client.getSigningKey(decoded?.header.kid);
    return jsonwebtoken.verify(inputs.token, key.getPublicKey(), { algorithms: [inputs.alg], issuer: inputs.issuer, audience: inputs.audience });
  })(),
);
