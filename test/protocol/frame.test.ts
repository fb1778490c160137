/**
 * The AGNT encoder (protocol.md §2): header layout `<IIBQ`, the no-copy path for large
 * payloads, and a round trip through the decoder.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/protocol/decoder.js';
import {
  AGNT_MAGIC,
  DEFAULT_MAX_PAYLOAD,
  encodeFrame,
  encodeFrameBuffer,
  type Frame,
  HEADER_LEN,
  writeHeader,
} from '../../src/protocol/frame.js';

const RUNS = { numRuns: 200 };
const KiB = 1024;
const COALESCE_LIMIT = 64 * KiB;

function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 0x2545f491;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Python's struct.pack('<IIBQ', magic, agent_id, opcode, payload_len), written out by hand. */
function packIIBQ(magic: number, agentId: number, opcode: number, payloadLength: bigint): Buffer {
  const out = new Uint8Array(17);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, true);
  view.setUint32(4, agentId, true);
  view.setUint8(8, opcode);
  view.setBigUint64(9, payloadLength, true);
  return Buffer.from(out);
}

const agentIdArb = fc.integer({ min: 0, max: 0xffff_ffff });
const opcodeArb = fc.integer({ min: 0, max: 255 });
const smallPayloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
  fc.record({ len: fc.integer({ min: 0, max: 4096 }), seed: fc.integer() }).map(({ len, seed }) => seededBytes(len, seed)),
);

describe('frame constants', () => {
  it('match protocol.md §2', () => {
    expect(AGNT_MAGIC).toBe(0x41474e54);
    expect(HEADER_LEN).toBe(17);
    expect(DEFAULT_MAX_PAYLOAD).toBe(1024 * 1024);
  });
});

describe('encodeFrameBuffer', () => {
  it("lays out the header as struct '<IIBQ' followed by the payload", () => {
    fc.assert(
      fc.property(agentIdArb, opcodeArb, smallPayloadArb, (agentId, opcode, payload) => {
        const out = encodeFrameBuffer(agentId, opcode, payload);
        expect(out.length).toBe(HEADER_LEN + payload.length);
        expect(out.subarray(0, HEADER_LEN).equals(packIIBQ(AGNT_MAGIC, agentId, opcode, BigInt(payload.length)))).toBe(true);
        expect(out.readUInt32LE(0)).toBe(AGNT_MAGIC);
        expect(out.readUInt32LE(4)).toBe(agentId);
        expect(out[8]).toBe(opcode);
        expect(out.readBigUInt64LE(9)).toBe(BigInt(payload.length));
        expect(out.subarray(HEADER_LEN).equals(payload)).toBe(true);
      }),
      RUNS,
    );
  });

  it('writes the magic as the bytes "TNGA" (0x41474E54 little-endian)', () => {
    const out = encodeFrameBuffer(0, 0, Buffer.alloc(0));
    expect([...out.subarray(0, 4)]).toEqual([0x54, 0x4e, 0x47, 0x41]);
    expect(out.subarray(0, 4).toString('latin1')).toBe('TNGA');
  });

  it('matches a known frame byte for byte', () => {
    const out = encodeFrameBuffer(0x01020304, 0x02, '{"a":1}');
    expect(out.toString('hex')).toBe(
      // magic      agent_id  op  payload_len (7)      payload
      `544e4741${'04030201'}02${'0700000000000000'}${Buffer.from('{"a":1}').toString('hex')}`,
    );
  });

  it('encodes a string payload as UTF-8 and counts bytes, not characters', () => {
    const text = '{"content":"héllo ✓ 🚀"}';
    const out = encodeFrameBuffer(1, 0x04, text);
    const bytes = Buffer.from(text, 'utf8');
    expect(bytes.length).toBeGreaterThan(text.length);
    expect(out.readBigUInt64LE(9)).toBe(BigInt(bytes.length));
    expect(out.subarray(HEADER_LEN).toString('utf8')).toBe(text);
  });

  it('encodes the extreme agent ids and opcodes', () => {
    for (const [agentId, opcode] of [
      [0, 0],
      [0xffff_ffff, 0xff],
      [0x8000_0000, 0x80],
    ] as const) {
      const out = encodeFrameBuffer(agentId, opcode, '');
      expect(out.readUInt32LE(4)).toBe(agentId);
      expect(out[8]).toBe(opcode);
      expect(out.readBigUInt64LE(9)).toBe(0n);
    }
  });
});

describe('writeHeader', () => {
  it('splits any length below 2^53 into the u64 exactly', () => {
    fc.assert(
      fc.property(agentIdArb, opcodeArb, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (agentId, opcode, length) => {
        const header = Buffer.alloc(HEADER_LEN);
        writeHeader(header, agentId, opcode, length);
        expect(header.equals(packIIBQ(AGNT_MAGIC, agentId, opcode, BigInt(length)))).toBe(true);
      }),
      RUNS,
    );
  });

  it('writes lengths around the 32-bit edge', () => {
    for (const length of [0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      const header = Buffer.alloc(HEADER_LEN);
      writeHeader(header, 1, 2, length);
      expect(header.readBigUInt64LE(9)).toBe(BigInt(length));
    }
  });
});

describe('encodeFrame', () => {
  it('returns one buffer, identical to encodeFrameBuffer, for payloads up to 64 KiB', () => {
    fc.assert(
      fc.property(agentIdArb, opcodeArb, smallPayloadArb, (agentId, opcode, payload) => {
        const parts = encodeFrame(agentId, opcode, payload);
        expect(parts).toHaveLength(1);
        expect((parts[0] as Buffer).equals(encodeFrameBuffer(agentId, opcode, payload))).toBe(true);
      }),
      RUNS,
    );
  });

  it('copies small payloads: later changes to the payload do not reach the frame', () => {
    const payload = Buffer.from('hello');
    const [frame] = encodeFrame(1, 0, payload);
    payload.fill(0);
    expect(frame?.subarray(HEADER_LEN).toString()).toBe('hello');
  });

  it('coalesces exactly 64 KiB, and splits 64 KiB + 1', () => {
    const atLimit = seededBytes(COALESCE_LIMIT, 1);
    const one = encodeFrame(3, 0x03, atLimit);
    expect(one).toHaveLength(1);
    expect(one[0]?.length).toBe(HEADER_LEN + COALESCE_LIMIT);

    const over = seededBytes(COALESCE_LIMIT + 1, 2);
    const two = encodeFrame(3, 0x03, over);
    expect(two).toHaveLength(2);
  });

  it('returns [header, payload] for payloads over 64 KiB, with the payload not copied', () => {
    fc.assert(
      fc.property(
        agentIdArb,
        opcodeArb,
        fc.integer({ min: COALESCE_LIMIT + 1, max: 300 * KiB }),
        fc.integer(),
        (agentId, opcode, length, seed) => {
          const payload = seededBytes(length, seed);
          const parts = encodeFrame(agentId, opcode, payload);
          expect(parts).toHaveLength(2);
          const [header, body] = parts as [Buffer, Buffer];
          expect(body).toBe(payload); // the very same object: no copy
          expect(header.length).toBe(HEADER_LEN);
          expect(header.equals(packIIBQ(AGNT_MAGIC, agentId, opcode, BigInt(length)))).toBe(true);
          expect(Buffer.concat(parts).equals(encodeFrameBuffer(agentId, opcode, payload))).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('shares memory with a large payload (a view of it stays a view)', () => {
    const backing = seededBytes(200 * KiB, 5);
    const payload = backing.subarray(10, 10 + 100 * KiB);
    const [, body] = encodeFrame(1, 2, payload);
    backing[10] = (backing[10] as number) ^ 0xff;
    expect(body?.[0]).toBe(backing[10]);
  });
});

describe('round trip through FrameDecoder', () => {
  const frameArb: fc.Arbitrary<Frame> = fc.record({
    agentId: agentIdArb,
    opcode: opcodeArb,
    payload: fc.oneof(
      { weight: 5, arbitrary: smallPayloadArb },
      {
        weight: 1,
        arbitrary: fc
          .record({ len: fc.integer({ min: COALESCE_LIMIT - 2, max: 200 * KiB }), seed: fc.integer() })
          .map(({ len, seed }) => seededBytes(len, seed)),
      },
    ),
  });

  it('decodes what encodeFrame writes, buffer by buffer, in order', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), (frames) => {
        const decoder = new FrameDecoder(DEFAULT_MAX_PAYLOAD);
        const got: Frame[] = [];
        for (const f of frames) {
          for (const part of encodeFrame(f.agentId, f.opcode, f.payload)) {
            decoder.push(part);
            for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) got.push(frame);
          }
        }
        expect(got).toHaveLength(frames.length);
        got.forEach((frame, i) => {
          const want = frames[i] as Frame;
          expect(frame.agentId).toBe(want.agentId);
          expect(frame.opcode).toBe(want.opcode);
          expect(frame.payload.equals(want.payload)).toBe(true);
        });
        expect(decoder.idle).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('decodes a JSON request written by encodeFrameBuffer', () => {
    const request = { command: 'echo hi', timeout: 5 };
    const decoder = new FrameDecoder();
    decoder.push(encodeFrameBuffer(42, 0x02, JSON.stringify(request)));
    const frame = decoder.next();
    expect(frame?.agentId).toBe(42);
    expect(frame?.opcode).toBe(0x02);
    expect(JSON.parse(frame?.payload.toString('utf8') ?? 'null')).toEqual(request);
  });
});
