/** Where the local runtime keeps its state: the dev issuer's key, bundles, data, outputs. Git-ignored. */
import * as path from 'node:path';

/** The default state folder, at the repository root. */
export const DEFAULT_STATE_DIR = path.join(__dirname, '..', '.gatehouse');

/** The outputs file name, the local counterpart of `cdk deploy --outputs-file`. */
export const OUTPUTS_FILE = 'outputs.json';
