/**
 * Property tests for the streaming AGNT decoder (protocol.md §2): frames survive any
 * chunking, bad streams fail with BAD_FRAME exactly once, and no buffer grows without
 * bound.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameError } from '../../src/protocol/decoder.js';
import { AGNT_MAGIC, DEFAULT_MAX_PAYLOAD, encodeFrameBuffer, type Frame, HEADER_LEN } from '../../src/protocol/frame.js';

const RUNS = { numRuns: 200 };

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/** Deterministic bytes (xorshift32) so large payloads are cheap to generate and shrink. */
function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A header with any field values, including ones the encoder would never write. */
function rawHeader(magic: number, agentId: number, opcode: number, lenLow: number, lenHigh: number): Buffer {
  const h = Buffer.alloc(HEADER_LEN);
  h.writeUInt32LE(magic >>> 0, 0);
  h.writeUInt32LE(agentId >>> 0, 4);
  h[8] = opcode;
  h.writeUInt32LE(lenLow >>> 0, 9);
  h.writeUInt32LE(lenHigh >>> 0, 13);
  return h;
}

function headerWithLength(length: number, agentId = 7, opcode = 0x02): Buffer {
  return rawHeader(AGNT_MAGIC, agentId, opcode, length % 0x1_0000_0000, Math.floor(length / 0x1_0000_0000));
}

/** Payloads 0..max bytes: small ones byte by byte, large ones from a seed. */
const payloadArb = (max = 4096): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.uint8Array({ maxLength: Math.min(64, max) }).map((a) => Buffer.from(a)),
    fc.record({ len: fc.integer({ min: 0, max }), seed: fc.integer() }).map(({ len, seed }) => seededBytes(len, seed)),
    fc.constantFrom(0, max).map((len) => seededBytes(len, len + 1)),
  );

const frameArb = (maxPayload = 4096): fc.Arbitrary<Frame> =>
  fc.record({
    agentId: fc.integer({ min: 0, max: 0xffff_ffff }),
    opcode: fc.integer({ min: 0, max: 255 }),
    payload: payloadArb(maxPayload),
  });

const framesArb = (maxLength = 12, maxPayload = 4096) => fc.array(frameArb(maxPayload), { maxLength });

/** Cut points as raw integers, reduced modulo the stream length once it is known. */
const cutsArb = fc.array(fc.nat(), { maxLength: 40 });

function encodeAll(frames: readonly Frame[]): Buffer {
  return Buffer.concat(frames.map((f) => encodeFrameBuffer(f.agentId, f.opcode, f.payload)));
}

/** Split at the given positions (mod length+1, sorted, duplicates give empty chunks); chunks are copies. */
function split(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const points = cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    chunks.push(Buffer.from(stream.subarray(prev, p)));
    prev = p;
  }
  return chunks;
}

/** Offsets in the stream where a frame ends (0 included: the start is between frames). */
function boundaries(frames: readonly Frame[]): number[] {
  const out = [0];
  let at = 0;
  for (const f of frames) {
    at += HEADER_LEN + f.payload.length;
    out.push(at);
  }
  return out;
}

/** Every frame available now; fails the test if next() loops more than the bytes allow. */
function drain(decoder: FrameDecoder, limit = 1_000_000): Frame[] {
  const out: Frame[] = [];
  for (let i = 0; i < limit; i++) {
    const frame = decoder.next();
    if (frame === undefined) return out;
    out.push(frame);
  }
  throw new Error('decoder.next() did not stop returning frames');
}

function expectSameFrames(actual: readonly Frame[], expected: readonly Frame[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((frame, i) => {
    const want = expected[i] as Frame;
    expect(frame.agentId).toBe(want.agentId);
    expect(frame.opcode).toBe(want.opcode);
    expect(Buffer.isBuffer(frame.payload)).toBe(true);
    expect(frame.payload.length).toBe(want.payload.length);
    expect(frame.payload.equals(want.payload)).toBe(true);
  });
}

/** Catch the FrameError a call throws; fail on any other outcome. */
function expectFrameError(fn: () => unknown): FrameError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(FrameError);
  const err = caught as FrameError;
  expect(err.code).toBe('BAD_FRAME');
  expect(err.name).toBe('FrameError');
  expect(err).toBeInstanceOf(Error);
  return err;
}

// ---------------------------------------------------------------------------------
// (a) any chunking decodes to the same frames, in order, as soon as they are complete
// ---------------------------------------------------------------------------------

describe('FrameDecoder: chunking', () => {
  it('decodes any list of frames split at random byte positions (empty chunks included)', () => {
    fc.assert(
      fc.property(framesArb(), cutsArb, (frames, cuts) => {
        const stream = encodeAll(frames);
        const chunks = split(stream, cuts);
        const ends = boundaries(frames);
        const decoder = new FrameDecoder(4096);
        const got: Frame[] = [];
        let fed = 0;
        for (const chunk of chunks) {
          decoder.push(chunk);
          fed += chunk.length;
          got.push(...drain(decoder));
          // Every frame that is complete is returned at once, and no frame early.
          expect(got.length).toBe(ends.filter((e) => e > 0 && e <= fed).length);
        }
        expectSameFrames(got, frames);
        expect(decoder.next()).toBeUndefined();
        expect(decoder.bufferedBytes).toBe(0);
        expect(decoder.idle).toBe(true);
        expect(decoder.error).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('decodes a stream pushed one byte at a time', () => {
    fc.assert(
      fc.property(framesArb(6, 600), (frames) => {
        const stream = encodeAll(frames);
        const decoder = new FrameDecoder(600);
        const got: Frame[] = [];
        for (let i = 0; i < stream.length; i++) {
          decoder.push(stream.subarray(i, i + 1));
          got.push(...drain(decoder));
        }
        expectSameFrames(got, frames);
        expect(decoder.idle).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('decodes full-size and empty payloads pushed one byte at a time', () => {
    const frames: Frame[] = [
      { agentId: 0, opcode: 0, payload: Buffer.alloc(0) },
      { agentId: 0xffff_ffff, opcode: 255, payload: seededBytes(4096, 1) },
      { agentId: 1, opcode: 0x12, payload: Buffer.alloc(0) },
      { agentId: 2, opcode: 0x02, payload: Buffer.from('{"command":"ls"}') },
      { agentId: 3, opcode: 0xff, payload: Buffer.alloc(0) },
    ];
    const stream = encodeAll(frames);
    const decoder = new FrameDecoder(4096);
    const got: Frame[] = [];
    for (let i = 0; i < stream.length; i++) {
      decoder.push(stream.subarray(i, i + 1));
      decoder.push(Buffer.alloc(0));
      got.push(...drain(decoder));
    }
    expectSameFrames(got, frames);
  });

  it('needs no next() between pushes: chunks queued first still decode in order', () => {
    fc.assert(
      fc.property(framesArb(8), cutsArb, (frames, cuts) => {
        const decoder = new FrameDecoder(4096);
        for (const chunk of split(encodeAll(frames), cuts)) decoder.push(chunk);
        expectSameFrames(drain(decoder), frames);
        expect(decoder.idle).toBe(true);
      }),
      RUNS,
    );
  });

  it('returns a frame whose empty payload ends the buffered bytes', () => {
    // A bare LIST or EXIT request: header only, payload_len 0, nothing after it.
    const decoder = new FrameDecoder();
    decoder.push(encodeFrameBuffer(5, 0x12, Buffer.alloc(0)));
    const frame = decoder.next();
    expect(frame).toBeDefined();
    expect(frame?.agentId).toBe(5);
    expect(frame?.opcode).toBe(0x12);
    expect(frame?.payload.length).toBe(0);
    expect(decoder.next()).toBeUndefined();
    expect(decoder.idle).toBe(true);
  });

  it('returns an empty-payload frame whose header arrived in several chunks', () => {
    const bytes = encodeFrameBuffer(9, 0xff, Buffer.alloc(0));
    const decoder = new FrameDecoder();
    decoder.push(bytes.subarray(0, 5));
    expect(decoder.next()).toBeUndefined();
    decoder.push(bytes.subarray(5));
    const frame = decoder.next();
    expect(frame?.opcode).toBe(0xff);
    expect(frame?.payload.length).toBe(0);
  });
});

// ---------------------------------------------------------------------------------
// (b) many frames per chunk
// ---------------------------------------------------------------------------------

describe('FrameDecoder: many frames per chunk', () => {
  it('returns every frame of one chunk holding the whole stream', () => {
    fc.assert(
      fc.property(fc.array(frameArb(256), { minLength: 1, maxLength: 200 }), (frames) => {
        const decoder = new FrameDecoder(256);
        decoder.push(encodeAll(frames));
        expectSameFrames(drain(decoder), frames);
        expect(decoder.bufferedBytes).toBe(0);
        expect(decoder.idle).toBe(true);
      }),
      RUNS,
    );
  });

  it('returns whole groups of frames per chunk, with a frame straddling each chunk edge', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb(128), { minLength: 2, maxLength: 120 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        (frames, cuts) => {
          const stream = encodeAll(frames);
          // Cut in the middle of some frame so every chunk holds several frames and a part.
          const ends = boundaries(frames);
          const mids = cuts.map((c) => {
            const i = c % frames.length;
            return Math.floor(((ends[i] as number) + (ends[i + 1] as number)) / 2);
          });
          const decoder = new FrameDecoder(128);
          const got: Frame[] = [];
          for (const chunk of split(stream, mids)) {
            decoder.push(chunk);
            got.push(...drain(decoder));
          }
          expectSameFrames(got, frames);
        },
      ),
      RUNS,
    );
  });

  it('returns payloads that hold exactly their own bytes (no bleed into the next frame)', () => {
    const frames: Frame[] = Array.from({ length: 50 }, (_, i) => ({
      agentId: i,
      opcode: i % 256,
      payload: Buffer.alloc(i % 7, i),
    }));
    const decoder = new FrameDecoder();
    decoder.push(encodeAll(frames));
    const got = drain(decoder);
    expectSameFrames(got, frames);
    for (const [i, frame] of got.entries()) expect([...frame.payload].every((b) => b === i)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------
// (c) garbage: frames or BAD_FRAME, never another exception, never unbounded
// ---------------------------------------------------------------------------------

/** Pieces of a hostile stream: random bytes, valid frames, and headers with the right magic. */
const hostilePieceArb = (maxPayload: number) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    frameArb(Math.min(maxPayload, 512)).map((f) => encodeFrameBuffer(f.agentId, f.opcode, f.payload)),
    fc
      .tuple(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 3 }),
        fc.nat(255),
      )
      .map(([low, high, highShift, op]) => rawHeader(AGNT_MAGIC, 1, op, low, high >>> (highShift * 10))),
    fc.integer({ min: 0, max: maxPayload + 2 }).map((len) => Buffer.concat([headerWithLength(len), seededBytes(Math.min(len, 64), len)])),
  );

function feedHostile(decoder: FrameDecoder, chunks: readonly Buffer[], maxPayload: number): { frames: number; failed: boolean } {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  let frames = 0;
  let failed = false;
  for (const chunk of chunks) {
    expect(() => decoder.push(chunk)).not.toThrow();
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(maxPayload + HEADER_LEN + chunk.length);
    if (failed) {
      expect(decoder.next()).toBeUndefined();
      expect(decoder.bufferedBytes).toBe(0);
      continue;
    }
    try {
      for (;;) {
        const frame = decoder.next();
        if (frame === undefined) break;
        frames++;
        // Each frame eats at least a header: a bounded number of iterations.
        expect(frames * HEADER_LEN).toBeLessThanOrEqual(total);
        expect(frame.payload.length).toBeLessThanOrEqual(maxPayload);
      }
      // At rest, at most one header or one payload in progress is held.
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(Math.max(HEADER_LEN - 1, maxPayload));
    } catch (e) {
      expect(e).toBeInstanceOf(FrameError);
      expect((e as FrameError).code).toBe('BAD_FRAME');
      expect(decoder.error).toBe(e);
      expect(decoder.bufferedBytes).toBe(0);
      failed = true;
    }
  }
  return { frames, failed };
}

describe('FrameDecoder: garbage', () => {
  it('turns random bytes into frames or one BAD_FRAME, nothing else', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4096 }),
        fc.array(
          fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          { maxLength: 20 },
        ),
        (maxPayload, chunks) => {
          feedHostile(new FrameDecoder(maxPayload), chunks, maxPayload);
        },
      ),
      RUNS,
    );
  });

  it('turns hostile mixes (valid frames, right-magic headers, noise) into frames or one BAD_FRAME', () => {
    let sawFrames = 0;
    let sawFailures = 0;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 4096 })
          .chain((maxPayload) => fc.tuple(fc.constant(maxPayload), fc.array(hostilePieceArb(maxPayload), { maxLength: 12 }), cutsArb)),
        ([maxPayload, pieces, cuts]) => {
          const chunks = split(Buffer.concat(pieces), cuts);
          const { frames, failed } = feedHostile(new FrameDecoder(maxPayload), chunks, maxPayload);
          sawFrames += frames;
          if (failed) sawFailures++;
        },
      ),
      RUNS,
    );
    // The generator reaches both outcomes, so the property is not vacuous.
    expect(sawFrames).toBeGreaterThan(0);
    expect(sawFailures).toBeGreaterThan(0);
  });

  it('keeps the default 1 MiB decoder bounded on random bytes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.uint8Array({ maxLength: 1024 }).map((a) => Buffer.from(a)),
          { maxLength: 10 },
        ),
        (chunks) => {
          feedHostile(new FrameDecoder(), chunks, DEFAULT_MAX_PAYLOAD);
        },
      ),
      RUNS,
    );
  });

  it('returns the valid frames before garbage, then fails', () => {
    fc.assert(
      fc.property(
        framesArb(6, 1024),
        fc.integer({ min: 0, max: 0xffff_ffff }).filter((m) => m !== AGNT_MAGIC),
        fc.uint8Array({ minLength: 13, maxLength: 200 }),
        cutsArb,
        (frames, badMagic, rest, cuts) => {
          const garbage = Buffer.concat([Buffer.alloc(4), Buffer.from(rest)]);
          garbage.writeUInt32LE(badMagic, 0);
          const decoder = new FrameDecoder(1024);
          const got: Frame[] = [];
          let error: unknown;
          for (const chunk of split(Buffer.concat([encodeAll(frames), garbage]), cuts)) {
            decoder.push(chunk);
            try {
              for (let f = decoder.next(); f !== undefined; f = decoder.next()) got.push(f);
            } catch (e) {
              error ??= e;
            }
          }
          expectSameFrames(got, frames);
          expect(error).toBeInstanceOf(FrameError);
        },
      ),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------
// (d) bad magic
// ---------------------------------------------------------------------------------

describe('FrameDecoder: bad magic', () => {
  const badMagicArb = fc.integer({ min: 0, max: 0xffff_ffff }).filter((m) => m !== AGNT_MAGIC);

  it('fails on the header alone, without waiting for the payload it announces', () => {
    fc.assert(
      fc.property(badMagicArb, fc.integer({ min: 0, max: 4096 }), (magic, length) => {
        const decoder = new FrameDecoder(4096);
        decoder.push(rawHeader(magic, 1, 2, length, 0));
        const err = expectFrameError(() => decoder.next());
        expect(err.message).toMatch(/magic/i);
        expect(decoder.bufferedBytes).toBe(0);
        expect(decoder.error).toBe(err);
      }),
      RUNS,
    );
  });

  it('fails by the 17th byte and keeps none of the payload that follows', () => {
    fc.assert(
      fc.property(badMagicArb, fc.integer({ min: 1, max: 4096 }), (magic, length) => {
        const stream = Buffer.concat([rawHeader(magic, 1, 2, length, 0), seededBytes(length, magic)]);
        const decoder = new FrameDecoder(4096);
        let failedAt = -1;
        for (let i = 0; i < stream.length && failedAt < 0; i++) {
          decoder.push(stream.subarray(i, i + 1));
          expect(decoder.bufferedBytes).toBeLessThanOrEqual(HEADER_LEN);
          try {
            expect(decoder.next()).toBeUndefined();
          } catch (e) {
            expect(e).toBeInstanceOf(FrameError);
            failedAt = i + 1;
          }
        }
        expect(failedAt).toBeGreaterThan(0);
        expect(failedAt).toBeLessThanOrEqual(HEADER_LEN);
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('fails when a whole bad frame and more arrive in one chunk, and drops all of it', () => {
    const decoder = new FrameDecoder();
    const bad = Buffer.concat([rawHeader(0x544e4741, 1, 2, 3, 0), Buffer.from('abc'), encodeFrameBuffer(1, 2, 'ok')]);
    decoder.push(bad);
    expectFrameError(() => decoder.next());
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('rejects "AGNT" written big-endian (ASCII AGNT on the wire) and HTTP requests', () => {
    for (const start of [Buffer.from('AGNT'), Buffer.from('GET '), Buffer.from('\0\0\0\0')]) {
      const header = Buffer.concat([start, Buffer.alloc(HEADER_LEN - 4)]);
      const decoder = new FrameDecoder();
      decoder.push(header);
      expectFrameError(() => decoder.next());
    }
  });

  it('accepts the magic as the spec writes it: bytes "TNGA" (0x41474E54 little-endian)', () => {
    const decoder = new FrameDecoder();
    decoder.push(Buffer.concat([Buffer.from('TNGA', 'latin1'), Buffer.from([1, 0, 0, 0, 0x00]), Buffer.alloc(8)]));
    expect(decoder.next()).toEqual({ agentId: 1, opcode: 0, payload: Buffer.alloc(0) });
  });
});

// ---------------------------------------------------------------------------------
// (e) over the length limit, (f) over 2^53
// ---------------------------------------------------------------------------------

describe('FrameDecoder: payload_len limits', () => {
  const MiB = 1024 * 1024;

  it('fails on a 2 MiB header with a 1 MiB limit right after the 17 header bytes', () => {
    const decoder = new FrameDecoder(MiB);
    const header = headerWithLength(2 * MiB);
    for (let i = 0; i < HEADER_LEN - 1; i++) {
      decoder.push(header.subarray(i, i + 1));
      expect(decoder.next()).toBeUndefined();
    }
    decoder.push(header.subarray(HEADER_LEN - 1));
    const err = expectFrameError(() => decoder.next());
    expect(err.message).toContain(String(2 * MiB));
    expect(err.message).toContain(String(MiB));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('fails on a 2 MiB header even when payload bytes came with it', () => {
    const decoder = new FrameDecoder(MiB);
    decoder.push(Buffer.concat([headerWithLength(2 * MiB), seededBytes(1000, 3)]));
    expectFrameError(() => decoder.next());
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('fails on any length over the limit, with the default limit of 1 MiB', () => {
    fc.assert(
      fc.property(fc.integer({ min: MiB + 1, max: Number.MAX_SAFE_INTEGER }), (length) => {
        const decoder = new FrameDecoder();
        decoder.push(headerWithLength(length));
        expectFrameError(() => decoder.next());
      }),
      RUNS,
    );
  });

  it('fails on any length over a small limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 1, max: 1 << 30 }), (max, over) => {
        const decoder = new FrameDecoder(max);
        decoder.push(headerWithLength(max + over));
        expectFrameError(() => decoder.next());
      }),
      RUNS,
    );
  });

  it('fails when the high word is non-zero even if the low word is tiny', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffff_ffff }), fc.integer({ min: 0, max: 100 }), (high, low) => {
        const decoder = new FrameDecoder();
        decoder.push(rawHeader(AGNT_MAGIC, 1, 2, low, high));
        expectFrameError(() => decoder.next());
      }),
      RUNS,
    );
  });

  it('fails when payload_len is 2^53 or more, even with no practical limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0x20_0000, max: 0xffff_ffff }), fc.integer({ min: 0, max: 0xffff_ffff }), (high, low) => {
        const decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
        decoder.push(rawHeader(AGNT_MAGIC, 1, 2, low, high));
        const err = expectFrameError(() => decoder.next());
        expect(err.message).toMatch(/53 bits/);
      }),
      RUNS,
    );
  });

  it('accepts the header of 2^53 - 1 bytes under a limit that allows it (and waits for the payload)', () => {
    const decoder = new FrameDecoder(Number.MAX_SAFE_INTEGER);
    decoder.push(rawHeader(AGNT_MAGIC, 1, 2, 0xffff_ffff, 0x1f_ffff));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.error).toBeUndefined();
    expect(decoder.idle).toBe(false);
  });
});

// ---------------------------------------------------------------------------------
// (g) after an error
// ---------------------------------------------------------------------------------

describe('FrameDecoder: after an error', () => {
  it('never throws again and returns undefined, whatever is pushed', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
            frameArb(200).map((f) => encodeFrameBuffer(f.agentId, f.opcode, f.payload)),
          ),
          {
            maxLength: 20,
          },
        ),
        (chunks) => {
          const decoder = new FrameDecoder(1024);
          decoder.push(Buffer.from('this is not an AGNT frame'));
          const first = expectFrameError(() => decoder.next());
          for (const chunk of chunks) {
            expect(decoder.push(chunk)).toBeUndefined();
            expect(decoder.next()).toBeUndefined();
            expect(decoder.next()).toBeUndefined();
            expect(decoder.bufferedBytes).toBe(0);
            expect(decoder.error).toBe(first);
            expect(decoder.idle).toBe(false);
          }
        },
      ),
      RUNS,
    );
  });

  it('throws once when one chunk held several bad headers', () => {
    const decoder = new FrameDecoder(10);
    decoder.push(Buffer.concat([headerWithLength(11), headerWithLength(12), Buffer.from('garbage garbage garbage')]));
    expectFrameError(() => decoder.next());
    expect(decoder.next()).toBeUndefined();
    decoder.push(encodeFrameBuffer(1, 1, 'x'));
    expect(decoder.next()).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------
// (h) exactly at the limit
// ---------------------------------------------------------------------------------

describe('FrameDecoder: exactly at the limit', () => {
  it('accepts a payload of exactly maxPayload bytes and refuses one more', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4096 }), fc.integer(), fc.nat(), (max, seed, cut) => {
        const payload = seededBytes(max, seed);
        const ok = new FrameDecoder(max);
        for (const chunk of split(encodeFrameBuffer(3, 4, payload), [cut])) ok.push(chunk);
        expectSameFrames(drain(ok), [{ agentId: 3, opcode: 4, payload }]);

        const over = new FrameDecoder(max);
        over.push(encodeFrameBuffer(3, 4, seededBytes(max + 1, seed)));
        expectFrameError(() => over.next());
      }),
      RUNS,
    );
  });

  it('accepts exactly 1 MiB with the default limit', () => {
    const payload = seededBytes(DEFAULT_MAX_PAYLOAD, 42);
    const decoder = new FrameDecoder();
    const stream = encodeFrameBuffer(1, 0x04, payload);
    decoder.push(stream.subarray(0, 100_000));
    expect(decoder.next()).toBeUndefined();
    decoder.push(stream.subarray(100_000));
    const frame = decoder.next();
    expect(frame?.payload.equals(payload)).toBe(true);
    expect(decoder.idle).toBe(true);
  });

  it('accepts only empty payloads with a limit of 0', () => {
    const decoder = new FrameDecoder(0);
    decoder.push(Buffer.concat([encodeFrameBuffer(1, 0, ''), encodeFrameBuffer(2, 0xff, '')]));
    expect(drain(decoder).map((f) => f.agentId)).toEqual([1, 2]);
    decoder.push(encodeFrameBuffer(3, 0, 'x'));
    expectFrameError(() => decoder.next());
  });
});

// ---------------------------------------------------------------------------------
// (i) idle
// ---------------------------------------------------------------------------------

describe('FrameDecoder: idle', () => {
  it('is true exactly when the bytes fed so far end on a frame boundary', () => {
    fc.assert(
      fc.property(framesArb(8, 300), cutsArb, (frames, cuts) => {
        const ends = new Set(boundaries(frames));
        const decoder = new FrameDecoder(300);
        expect(decoder.idle).toBe(true);
        let fed = 0;
        for (const chunk of split(encodeAll(frames), cuts)) {
          decoder.push(chunk);
          fed += chunk.length;
          if (chunk.length > 0) expect(decoder.idle).toBe(false);
          drain(decoder);
          expect(decoder.idle).toBe(ends.has(fed));
          expect(decoder.bufferedBytes === 0 || !decoder.idle).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('is false with a partial header, a parsed header waiting for payload, or an unread frame', () => {
    const frame = encodeFrameBuffer(1, 2, 'hello');
    const decoder = new FrameDecoder();
    expect(decoder.idle).toBe(true);

    decoder.push(frame.subarray(0, 3));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.idle).toBe(false);

    decoder.push(frame.subarray(3, HEADER_LEN));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.idle).toBe(false); // header parsed, payload pending

    decoder.push(frame.subarray(HEADER_LEN));
    expect(decoder.idle).toBe(false); // a whole frame held, not yet read
    expect(decoder.next()?.payload.toString()).toBe('hello');
    expect(decoder.idle).toBe(true);
  });

  it('is false after a failure (the stream is not between frames)', () => {
    const decoder = new FrameDecoder();
    decoder.push(Buffer.alloc(HEADER_LEN));
    expectFrameError(() => decoder.next());
    expect(decoder.idle).toBe(false);
  });

  it('is not changed by empty chunks', () => {
    const decoder = new FrameDecoder();
    decoder.push(Buffer.alloc(0));
    expect(decoder.idle).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.next()).toBeUndefined();
  });
});
