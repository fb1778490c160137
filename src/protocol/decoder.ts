/**
 * Streaming AGNT decoder: bytes in, frames out. It knows nothing about syscalls or
 * connections, so it can be fuzzed on its own. Chunks are kept in a list and sliced
 * across, never concatenated per chunk; a header is checked (magic, length limit)
 * before any payload byte is kept.
 */
import { AGNT_MAGIC, DEFAULT_MAX_PAYLOAD, type Frame, HEADER_LEN } from './frame.js';

/** Why the decoder gave up on a stream; the connection answers BAD_FRAME and closes. */
export class FrameError extends Error {
  readonly code = 'BAD_FRAME' as const;
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Decoder states: reading a header, reading a payload, or refused for good. */
const State = { Header: 0, Payload: 1, Failed: 2 } as const;
type State = (typeof State)[keyof typeof State];

export class FrameDecoder {
  readonly #maxPayload: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #state: State = State.Header;
  #agentId = 0;
  #opcode = 0;
  #payloadLength = 0;
  #error: FrameError | undefined;

  constructor(maxPayload = DEFAULT_MAX_PAYLOAD) {
    this.#maxPayload = maxPayload;
  }

  /** Bytes held that do not yet form a frame (never more than one header plus one payload in progress, plus the unread rest of the last chunk). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** True between frames: nothing partial is held. */
  get idle(): boolean {
    return this.#buffered === 0 && this.#state === State.Header;
  }

  get error(): FrameError | undefined {
    return this.#error;
  }

  push(chunk: Buffer): void {
    if (this.#state === State.Failed || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /**
   * The next complete frame, or undefined when more bytes are needed. Throws a
   * FrameError once for a bad stream; after that the decoder only returns undefined.
   */
  next(): Frame | undefined {
    for (;;) {
      switch (this.#state) {
        case State.Header: {
          if (this.#buffered < HEADER_LEN) return undefined;
          const header = this.#consume(HEADER_LEN);
          const magic = header.readUInt32LE(0);
          if (magic !== AGNT_MAGIC) {
            return this.#fail(`bad magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x41474e54, "AGNT")`);
          }
          const low = header.readUInt32LE(9);
          const high = header.readUInt32LE(13);
          // A u64 above 2^53-1 cannot be represented exactly; it is over any limit anyway.
          if (high > 0x1fffff) return this.#fail('payload_len does not fit in 53 bits');
          const length = high * 0x1_0000_0000 + low;
          if (length > this.#maxPayload) {
            return this.#fail(`payload_len ${length} is over the limit of ${this.#maxPayload} bytes`);
          }
          this.#agentId = header.readUInt32LE(4);
          this.#opcode = header[8] as number;
          this.#payloadLength = length;
          this.#state = State.Payload;
          break;
        }
        case State.Payload: {
          if (this.#buffered < this.#payloadLength) return undefined;
          const payload = this.#consume(this.#payloadLength);
          this.#state = State.Header;
          return { agentId: this.#agentId, opcode: this.#opcode, payload };
        }
        default:
          return undefined;
      }
    }
  }

  #fail(message: string): never {
    this.#state = State.Failed;
    this.#chunks = [];
    this.#buffered = 0;
    this.#error = new FrameError(message);
    throw this.#error;
  }

  /** Take n bytes from the front of the chunk list (n <= buffered). */
  #consume(n: number): Buffer {
    // An empty payload (LIST, EXIT, bare NOOP) may end the bytes held: the list can be empty.
    if (n === 0) return Buffer.alloc(0);
    this.#buffered -= n;
    const first = this.#chunks[0] as Buffer;
    if (n === first.length) {
      this.#chunks.shift();
      return first;
    }
    if (n < first.length) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.#chunks[0] as Buffer;
      const take = Math.min(chunk.length, n - offset);
      chunk.copy(out, offset, 0, take);
      offset += take;
      if (take === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(take);
    }
    return out;
  }
}
