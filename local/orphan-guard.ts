/**
 * Preloaded (`node --require guard.js`) into each service process that `npm start` runs: when the
 * stdin pipe from `npm start` ends, because it is gone (even SIGKILLed, which gives it no chance to
 * stop anything), the service gets SIGTERM and stops the way it stops in a container. Without this a
 * killed `npm start` left its services running, holding ports, with no one to stop them.
 *
 * The bundles themselves stay as the containers run them; only the local runtime adds this.
 */
const stop = (): void => {
  process.kill(process.pid, 'SIGTERM');
};
process.stdin.once('end', stop);
process.stdin.once('error', stop);
process.stdin.resume();
