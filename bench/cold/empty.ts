/** The baseline: Node's own start and the shared harness, with no JWT library and no verification. */
import { report } from './common';

report(Promise.resolve());
