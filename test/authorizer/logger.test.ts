/** The authorizer's JSON lines: one object per line, written straight to the stream (not through a console Lambda patches). */
import { PassThrough } from 'node:stream';
import { createJsonLogger, lineWriter } from '../../lambda/authorizer/logger';

it('writes each entry as one newline-terminated JSON object with its level and time', () => {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const logger = createJsonLogger(lineWriter(stream));
  logger.info({ code: 'TOKEN_VALID', requestId: 'r-1', ms: 0.5 });
  logger.error({ code: 'INTERNAL', requestId: undefined });

  expect(chunks.every((chunk) => chunk.endsWith('\n'))).toBe(true);
  const lines = chunks.join('').split('\n');
  expect(lines.pop()).toBe('');
  const [info, error] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(info).toEqual({
    level: 'info',
    time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    code: 'TOKEN_VALID',
    requestId: 'r-1',
    ms: 0.5,
  });
  expect(error).toEqual({ level: 'error', time: expect.any(String), code: 'INTERNAL' });
});
