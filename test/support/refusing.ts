/** A loopback address that refuses connections, for tests of what happens when an instance is gone. */
import { connect } from 'node:net';

/**
 * The URL of a loopback port that nothing listens on, and that nothing in the tests can come to listen
 * on: connections to it are refused. A port freed by closing a server on port 0 will not do, since the
 * next listen on port 0 (the gateway under test, an upstream) may be handed the same port. The kernel
 * hands out ephemeral ports only from 1024 up, and no test binds a fixed port, so a privileged port
 * that refuses now keeps refusing.
 */
export async function refusingUrl(): Promise<string> {
  for (let port = 1; port < 1024; port += 1) {
    if (await refuses(port)) return `http://127.0.0.1:${port}`;
  }
  throw new Error('every privileged loopback port answers: no refusing port for the test');
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}
