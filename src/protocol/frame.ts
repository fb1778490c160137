/**
 * AGNT framing constants and the encoder (protocol.md §2): a 17-byte little-endian
 * header `<IIBQ` (magic, agent_id, opcode, payload_len), then the payload.
 */

/** 0x41474E54 ("AGNT" as a big-endian word), written little-endian: the wire bytes are "TNGA", as the original kernel sends. */
export const AGNT_MAGIC = 0x41474e54;
export const HEADER_LEN = 17;
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** Payloads up to this size are copied behind the header into one buffer (one write). */
const COALESCE_LIMIT = 64 * 1024;

export interface Frame {
  agentId: number;
  opcode: number;
  payload: Buffer;
}

export function writeHeader(target: Buffer, agentId: number, opcode: number, payloadLength: number): void {
  target.writeUInt32LE(AGNT_MAGIC, 0);
  target.writeUInt32LE(agentId >>> 0, 4);
  target[8] = opcode;
  // A u64 as two u32s: lengths stay below 2^53, so the high word is exact.
  target.writeUInt32LE(payloadLength % 0x1_0000_0000, 9);
  target.writeUInt32LE(Math.floor(payloadLength / 0x1_0000_0000), 13);
}

/**
 * One frame as the buffers to write: a single buffer for small payloads (one syscall,
 * no Nagle-like split), header and payload apart for large ones (no copy).
 */
export function encodeFrame(agentId: number, opcode: number, payload: Buffer): Buffer[] {
  if (payload.length <= COALESCE_LIMIT) {
    const out = Buffer.allocUnsafe(HEADER_LEN + payload.length);
    writeHeader(out, agentId, opcode, payload.length);
    payload.copy(out, HEADER_LEN);
    return [out];
  }
  const header = Buffer.allocUnsafe(HEADER_LEN);
  writeHeader(header, agentId, opcode, payload.length);
  return [header, payload];
}

/** A whole frame in one buffer, for clients and tests. */
export function encodeFrameBuffer(agentId: number, opcode: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const out = Buffer.allocUnsafe(HEADER_LEN + body.length);
  writeHeader(out, agentId, opcode, body.length);
  body.copy(out, HEADER_LEN);
  return out;
}
