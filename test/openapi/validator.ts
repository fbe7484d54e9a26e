/**
 * Runs @seriousme/openapi-schema-validator on a document. The package is ESM only, which jest's
 * CommonJS runtime on Node 20 cannot load, so it runs in a child Node process that reads the document
 * on stdin and prints the result.
 */
import { execFile } from 'node:child_process';

const SCRIPT = `
import { Validator } from '@seriousme/openapi-schema-validator';
let text = '';
for await (const chunk of process.stdin) text += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(text));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? [] }));
`;

/** The validator's verdict on `document`. */
export function validateOpenApi(document: unknown): Promise<{ valid: boolean; version: string; errors: unknown }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: `${__dirname}/../..`, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`validator failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as { valid: boolean; version: string; errors: unknown });
    });
    child.stdin?.end(JSON.stringify(document));
  });
}
