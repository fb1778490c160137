/**
 * The relay's wire protocol (docs/relay.md): every message of every direction survives
 * encode → decode, and every kind of bad frame is refused with its code, never a throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/relay/protocol/codec.js';
import { DEFAULT_RELAY_LIMITS, RelayLimits } from '../../src/relay/protocol/limits.js';
import { type Direction, type MessageOf, RELAY_ERROR_CODES } from '../../src/relay/protocol/schemas.js';

const result = { success: true, value: 1 };

/** One example of every message, by direction; docs/relay.md shows the same ones. */
const EXAMPLES: { [D in Direction]: MessageOf<D>[] } = {
  kernel_to_relay: [
    { type: 'kernel_auth', machine_id: 'laptop-1', token: 'mt_abc', kernel_version: '0.1.0' },
    { type: 'reply', id: 17, result },
    { type: 'session_close', session: 3, reason: 'kernel_request' },
    { type: 'deploy_result', request_id: 9, ok: true, name: 'crawler', agent_id: 1042 },
    { type: 'deploy_result', request_id: 9, ok: false, code: 'CONFLICT', error: 'an agent named "crawler" is running' },
    { type: 'stop_result', request_id: 10, ok: true, name: 'crawler' },
    { type: 'stop_result', request_id: 10, ok: false, code: 'NOT_FOUND', error: 'no agent named "crawler"' },
    { type: 'deployment_ended', name: 'crawler', agent_id: 1042 },
    { type: 'deployments', agents: [{ name: 'crawler', agent_id: 1042 }] },
    { type: 'deployments', agents: [] },
    { type: 'ping', ts: 1_700_000_000_000 },
    { type: 'pong', ts: 5 },
    { type: 'error', code: 'BAD_MESSAGE', error: 'no such session', id: 17 },
  ],
  relay_to_kernel: [
    { type: 'auth_ok', machine_id: 'laptop-1', heartbeat_interval_ms: 15_000, heartbeat_timeout_ms: 45_000, max_message_bytes: 1_048_576 },
    { type: 'auth_error', code: 'AUTH_FAILED', error: 'unknown token for machine "laptop-1"' },
    { type: 'call', id: 17, session: 3, op: 'READ', payload: { path: '/tmp/x' } },
    { type: 'call', id: 18, session: 3, op: 0x00 },
    {
      type: 'session_open',
      session: 3,
      token_id: 'tok_7',
      ceiling: { can_read: true, can_think: true, can_write: false },
      name: 'cloud-planner',
    },
    { type: 'session_open', session: 4, token_id: 'tok_8', ceiling: null },
    { type: 'session_close', session: 3, reason: 'token_revoked' },
    {
      type: 'deploy',
      request_id: 9,
      name: 'crawler',
      script: 'print("hi")',
      args: ['--fast'],
      interpreter: 'python3',
      env: { A: '1' },
      filename: 'crawler.py',
      ceiling: { can_network: true, allowed_domains: ['example.com'] },
    },
    { type: 'deploy', request_id: 11, name: 'tiny', script: 'echo hi' },
    { type: 'stop', request_id: 10, name: 'crawler' },
    { type: 'ping', ts: 0 },
    { type: 'pong', ts: 0 },
    { type: 'error', code: 'SHUTTING_DOWN', error: 'relay is stopping' },
  ],
  agent_to_relay: [
    { type: 'agent_auth', token: 'at_xyz', machine_id: 'laptop-1', name: 'cloud-planner' },
    { type: 'agent_auth', token: 'at_xyz', machine_id: 'laptop-1' },
    { type: 'call', id: 1, op: 'THINK', payload: { prompt: 'hello' } },
    { type: 'call', id: 'req-a', op: 2 },
    { type: 'ping', ts: 12 },
    { type: 'pong', ts: 12 },
  ],
  relay_to_agent: [
    {
      type: 'auth_ok',
      machine_id: 'laptop-1',
      session: 3,
      ceiling: { can_read: true },
      heartbeat_interval_ms: 15_000,
      heartbeat_timeout_ms: 45_000,
      max_message_bytes: 1_048_576,
    },
    { type: 'auth_error', code: 'FORBIDDEN', error: 'token is not scoped to machine "laptop-2"' },
    { type: 'reply', id: 'req-a', result: { success: false, code: 'PERMISSION_DENIED', error: 'no' } },
    { type: 'reply', id: 1, result },
    { type: 'ping', ts: 1 },
    { type: 'pong', ts: 1 },
    { type: 'error', code: 'RATE_LIMITED', error: 'over 50 calls per second', id: 'req-b' },
    { type: 'error', code: 'MACHINE_OFFLINE', error: 'machine "laptop-1" is offline' },
  ],
};

const DIRECTIONS = Object.keys(EXAMPLES) as Direction[];

function expectBad(frame: Parameters<typeof decode>[0], direction: Direction, field?: string) {
  const out = decode(frame, { direction });
  expect(out.ok).toBe(false);
  if (out.ok) return;
  expect(out.code).toBe('BAD_MESSAGE');
  expect(out.error.length).toBeGreaterThan(0);
  if (field !== undefined) expect(out.field).toBe(field);
}

describe('relay protocol: round trips', () => {
  for (const direction of DIRECTIONS) {
    for (const message of EXAMPLES[direction]) {
      it(`${direction}: ${message.type} ${JSON.stringify(message).slice(0, 60)}`, () => {
        const text = encode(message);
        expect(decode(text, { direction })).toEqual({ ok: true, message });
        expect(decode(Buffer.from(text), { direction })).toEqual({ ok: true, message });
        const bytes = Buffer.from(text);
        const half = Math.floor(bytes.length / 2);
        expect(decode([bytes.subarray(0, half), bytes.subarray(half)], { direction })).toEqual({ ok: true, message });
        const ab = new Uint8Array(bytes).buffer;
        expect(decode(ab, { direction })).toEqual({ ok: true, message });
      });
    }
  }

  it('covers every message type of every direction', () => {
    const types = Object.fromEntries(DIRECTIONS.map((d) => [d, [...new Set(EXAMPLES[d].map((m) => m.type))].sort()]));
    expect(types).toEqual({
      kernel_to_relay: [
        'deploy_result',
        'deployment_ended',
        'deployments',
        'error',
        'kernel_auth',
        'ping',
        'pong',
        'reply',
        'session_close',
        'stop_result',
      ],
      relay_to_kernel: ['auth_error', 'auth_ok', 'call', 'deploy', 'error', 'ping', 'pong', 'session_close', 'session_open', 'stop'],
      agent_to_relay: ['agent_auth', 'call', 'ping', 'pong'],
      relay_to_agent: ['auth_error', 'auth_ok', 'error', 'ping', 'pong', 'reply'],
    });
  });
});

describe('relay protocol: refusals', () => {
  it('refuses oversized frames as TOO_LARGE before parsing', () => {
    const big = `{"type":"ping","ts":1,"x":"${'a'.repeat(2000)}"}`;
    for (const frame of [big, Buffer.from(big), [Buffer.from(big.slice(0, 10)), Buffer.from(big.slice(10))]]) {
      const out = decode(frame, { direction: 'agent_to_relay', maxBytes: 1000 });
      expect(out).toMatchObject({ ok: false, code: 'TOO_LARGE' });
    }
    // Not JSON at all, but over the limit: the size is checked first.
    expect(decode('x'.repeat(1001), { direction: 'agent_to_relay', maxBytes: 1000 })).toMatchObject({ code: 'TOO_LARGE' });
  });

  it('counts UTF-8 bytes, not string length', () => {
    const text = JSON.stringify({ type: 'agent_auth', token: 'é'.repeat(300), machine_id: 'm' }); // 600 bytes of token
    expect(text.length).toBeLessThan(400);
    expect(decode(text, { direction: 'agent_to_relay', maxBytes: 400 })).toMatchObject({ code: 'TOO_LARGE' });
    expect(decode(text, { direction: 'agent_to_relay', maxBytes: 700 })).toMatchObject({ ok: true });
  });

  it('refuses the default limit of 1 MiB', () => {
    const payload = 'a'.repeat(DEFAULT_RELAY_LIMITS.max_message_bytes);
    expect(decode(encode({ type: 'call', id: 1, op: 'WRITE', payload }), { direction: 'agent_to_relay' })).toMatchObject({
      code: 'TOO_LARGE',
    });
  });

  it('refuses garbage, bad UTF-8 and non-objects as BAD_MESSAGE', () => {
    expectBad('not json', 'agent_to_relay');
    expectBad('{"type":"ping",', 'agent_to_relay');
    expectBad('', 'agent_to_relay');
    expectBad(Buffer.from([0xff, 0xfe, 0x7b]), 'kernel_to_relay');
    expectBad('[1,2]', 'agent_to_relay', '');
    expectBad('null', 'agent_to_relay', '');
    expectBad('42', 'agent_to_relay', '');
    expectBad('"ping"', 'agent_to_relay', '');
    expectBad('{}', 'agent_to_relay', 'type');
    expectBad('{"type":7}', 'agent_to_relay', 'type');
  });

  it('refuses an unknown type, and a type from another direction', () => {
    expectBad('{"type":"launch_missiles"}', 'agent_to_relay', 'type');
    // Only the relay sends deploy, and only the kernel sends kernel_auth.
    expectBad(encode({ type: 'deploy', request_id: 1, name: 'x', script: 'y' }), 'agent_to_relay', 'type');
    expectBad(encode({ type: 'deploy', request_id: 1, name: 'x', script: 'y' }), 'kernel_to_relay', 'type');
    expectBad(encode({ type: 'kernel_auth', machine_id: 'm', token: 't', kernel_version: '1' }), 'agent_to_relay', 'type');
    const out = decode('{"type":"launch_missiles"}', { direction: 'agent_to_relay' });
    expect(!out.ok && out.error).toMatch(/agent_auth/);
  });

  it('refuses extra keys (strict), naming the key', () => {
    const out = decode('{"type":"ping","ts":1,"evil":true}', { direction: 'agent_to_relay' });
    expect(out).toMatchObject({ ok: false, code: 'BAD_MESSAGE' });
    expect(!out.ok && out.error).toMatch(/evil/);
    // An agent may not pick its session: the relay assigns it on the kernel side.
    expectBad(JSON.stringify({ type: 'call', id: 1, session: 9, op: 'NOOP' }), 'agent_to_relay');
    expectBad(JSON.stringify({ type: 'agent_auth', token: 't', machine_id: 'm', __proto__x: 1 }), 'agent_to_relay');
    expectBad('{"type":"ping","ts":1,"__proto__":{"polluted":true}}', 'agent_to_relay');
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('refuses wrong field types, naming the field', () => {
    expectBad(JSON.stringify({ type: 'kernel_auth', machine_id: 'laptop', token: 5, kernel_version: '1' }), 'kernel_to_relay', 'token');
    expectBad(
      JSON.stringify({ type: 'kernel_auth', machine_id: '../etc', token: 't', kernel_version: '1' }),
      'kernel_to_relay',
      'machine_id',
    );
    expectBad(JSON.stringify({ type: 'agent_auth', token: '', machine_id: 'm' }), 'agent_to_relay', 'token');
    expectBad(JSON.stringify({ type: 'agent_auth', token: 'x'.repeat(513), machine_id: 'm' }), 'agent_to_relay', 'token');
    expectBad(JSON.stringify({ type: 'call', id: 1.5, op: 'NOOP' }), 'agent_to_relay', 'id');
    expectBad(JSON.stringify({ type: 'call', id: -1, op: 'NOOP' }), 'agent_to_relay', 'id');
    expectBad(JSON.stringify({ type: 'call', op: 'NOOP' }), 'agent_to_relay', 'id');
    expectBad(JSON.stringify({ type: 'call', id: 1, op: 256 }), 'agent_to_relay', 'op');
    expectBad(JSON.stringify({ type: 'call', id: 'a', session: 1, op: 'NOOP' }), 'relay_to_kernel', 'id');
    expectBad(JSON.stringify({ type: 'call', id: 1, op: 'NOOP' }), 'relay_to_kernel', 'session');
    expectBad(JSON.stringify({ type: 'reply', id: 1 }), 'kernel_to_relay', 'result');
    expectBad(JSON.stringify({ type: 'reply', id: 1, result: 'ok' }), 'kernel_to_relay', 'result');
    expectBad(JSON.stringify({ type: 'reply', id: 1, result: {} }), 'kernel_to_relay', 'result.success');
    expectBad(JSON.stringify({ type: 'ping', ts: 'now' }), 'agent_to_relay', 'ts');
    expectBad(JSON.stringify({ type: 'ping', ts: 1, sneaky: true }), 'agent_to_relay', 'sneaky');
    expectBad(JSON.stringify({ type: 'session_close', session: 1, reason: 'bored' }), 'kernel_to_relay', 'reason');
    expectBad(
      JSON.stringify({ type: 'session_open', session: 1, token_id: 't', ceiling: { can_root: true } }),
      'relay_to_kernel',
      'ceiling',
    );
    expectBad(
      JSON.stringify({ type: 'session_open', session: 1, token_id: 't', ceiling: { can_read: 'yes' } }),
      'relay_to_kernel',
      'ceiling.can_read',
    );
    expectBad(JSON.stringify({ type: 'session_open', session: 1, token_id: 't' }), 'relay_to_kernel', 'ceiling');
    expectBad(
      JSON.stringify({ type: 'deploy', request_id: 1, name: 'a', script: 'x', filename: '../x.py' }),
      'relay_to_kernel',
      'filename',
    );
    expectBad(JSON.stringify({ type: 'deploy_result', request_id: 1, ok: true }), 'kernel_to_relay', 'name');
    expectBad(JSON.stringify({ type: 'deploy_result', request_id: 1, ok: 'yes' }), 'kernel_to_relay', 'ok');
    expectBad(JSON.stringify({ type: 'deploy', request_id: 1, name: 'a', script: '' }), 'relay_to_kernel', 'script');
    expectBad(JSON.stringify({ type: 'error', code: 'OOPS', error: 'x' }), 'relay_to_agent', 'code');
    const out = decode(JSON.stringify({ type: 'kernel_auth', machine_id: 'laptop', token: 5, kernel_version: '1' }), {
      direction: 'kernel_to_relay',
    });
    expect(!out.ok && out.error).toMatch(/"kernel_auth" message.*"token"/);
  });

  it('never echoes a huge type back', () => {
    const out = decode(JSON.stringify({ type: 'x'.repeat(10_000) }), { direction: 'agent_to_relay' });
    expect(out.ok).toBe(false);
    expect(!out.ok && out.error.length).toBeLessThan(500);
  });

  it('survives deep nesting in a payload', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const out = decode(`{"type":"call","id":1,"op":"NOOP","payload":${deep}}`, { direction: 'agent_to_relay' });
    expect(typeof out.ok).toBe('boolean');
  });

  it('never throws on arbitrary strings and bytes', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(...DIRECTIONS), (text, direction) => {
        const out = decode(text, { direction, maxBytes: 256 });
        if (!out.ok) expect(['BAD_MESSAGE', 'TOO_LARGE']).toContain(out.code);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...DIRECTIONS), (bytes, direction) => {
        decode(Buffer.from(bytes), { direction, maxBytes: 256 });
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...DIRECTIONS), (value, direction) => {
        const out = decode(JSON.stringify(value), { direction });
        expect(typeof out.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('mutated valid messages either decode or fail with BAD_MESSAGE', () => {
    const all = DIRECTIONS.flatMap((d) => EXAMPLES[d].map((m) => [d, m] as const));
    fc.assert(
      fc.property(fc.constantFrom(...all), fc.string({ maxLength: 12 }), fc.jsonValue(), ([direction, message], key, value) => {
        const mutated = { ...message, [key]: value };
        const out = decode(JSON.stringify(mutated), { direction });
        if (!out.ok) expect(out.code).toBe('BAD_MESSAGE');
      }),
      { numRuns: 500 },
    );
  });

  it('has an error code for every refusal the issue names', () => {
    for (const code of ['BAD_MESSAGE', 'TOO_LARGE', 'UNAUTHENTICATED', 'AUTH_TIMEOUT', 'RATE_LIMITED', 'MACHINE_OFFLINE']) {
      expect(RELAY_ERROR_CODES).toContain(code);
    }
  });
});

describe('relay limits', () => {
  it('has defaults', () => {
    expect(RelayLimits.parse({})).toEqual({
      max_message_bytes: 1_048_576,
      auth_timeout_ms: 10_000,
      heartbeat_interval_ms: 15_000,
      heartbeat_timeout_ms: 45_000,
      agent_calls_per_second: 50,
      agent_burst: 100,
      agent_max_in_flight: 64,
      max_sessions_per_token: 64,
      max_buffered_bytes: 8 * 1_048_576,
    });
    expect(Object.isFrozen(DEFAULT_RELAY_LIMITS)).toBe(true);
  });

  it('refuses bad values, naming the field', () => {
    const fieldOf = (input: unknown) => RelayLimits.safeParse(input).error?.issues[0]?.path.join('.');
    expect(fieldOf({ max_message_bytes: 0 })).toBe('max_message_bytes');
    expect(fieldOf({ auth_timeout_ms: 1.5 })).toBe('auth_timeout_ms');
    expect(fieldOf({ heartbeat_interval_ms: 10_000, heartbeat_timeout_ms: 10_000 })).toBe('heartbeat_timeout_ms');
    expect(fieldOf({ agent_calls_per_second: 10, agent_burst: 5 })).toBe('agent_burst');
    expect(fieldOf({ max_message_bytes: 2_000_000, max_buffered_bytes: 1_000_000 })).toBe('max_buffered_bytes');
    expect(fieldOf({ surprise: 1 })).toBe('');
  });
});
