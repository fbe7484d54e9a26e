/**
 * `npm run openapi [-- <file>] [--stage <name>] [--server <url>]`: writes the OpenAPI 3.1 document of
 * Gatehouse's routes (default: openapi.json), for client teams to generate typed clients from.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildOpenApiDocument } from '../lib/openapi/openapi';
import { GATEHOUSE_ROUTES } from '../lib/routes/gatehouse-routes';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { stage: { type: 'string' }, server: { type: 'string' } },
});
const file = path.resolve(positionals[0] ?? 'openapi.json');
const document = buildOpenApiDocument(GATEHOUSE_ROUTES, {
  ...(values.stage !== undefined && { stageName: values.stage }),
  ...(values.server !== undefined && { servers: [{ url: values.server }] }),
});
fs.writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file) || file}: OpenAPI 3.1, ${GATEHOUSE_ROUTES.length} operations`);
