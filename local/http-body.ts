/** Reading a request body with a size cap, shared by the local gateway and the embedded registry. */
import type { IncomingMessage } from 'node:http';

/** The body; 'too-large' once it passes `limit` bytes (declared or received); 'aborted' if the client left. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    if (Number(request.headers['content-length'] ?? 0) > limit) {
      resolve('too-large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Keep the stream flowing (nothing buffered) so Node can answer and close the connection.
        request.off('data', onData).off('end', onEnd);
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks));
    // A client that leaves mid-body ends the request with 'error' or only 'close'; after 'end' these
    // come too, but the promise is settled by then.
    const onGone = (): void => resolve('aborted');
    request.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}
