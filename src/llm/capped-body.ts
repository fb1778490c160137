/**
 * Reads an HTTP answer's body with a byte cap: a provider (or something pretending to
 * be one) that sends a huge or endless body costs at most `maxBytes` of memory. Chunks
 * are joined once at the end, never per chunk.
 */
import { KernelError } from '../protocol/errors.js';

export async function readCappedText(response: Response, maxBytes: number, what: string): Promise<string> {
  const tooLarge = () =>
    new KernelError('UNAVAILABLE', `${what} sent an answer larger than ${maxBytes} bytes (llm.maxResponseBytes); it was not read`);
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
