/**
 * describeZodError turns a schema failure into one sentence naming the field and what
 * was expected (protocol.md §2: INVALID_REQUEST "naming the field"), using the real
 * request schemas.
 */

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodError, ERROR_CODES, errorReply, formatIssuePath, KernelError } from '../../src/protocol/errors.js';
import { HelloReply, HelloRequest } from '../../src/protocol/schemas/core.js';
import { ReadRequest, WriteRequest } from '../../src/protocol/schemas/files.js';
import { ExecRequest } from '../../src/protocol/schemas/process.js';

/** The description of a value the schema must refuse. */
function describeFailure(schema: z.ZodType, value: unknown, what?: string): { message: string; field: string } {
  const result = schema.safeParse(value);
  expect(result.success).toBe(false);
  if (result.success) throw new Error('unreachable');
  return what === undefined ? describeZodError(result.error) : describeZodError(result.error, what);
}

const validHelloReply = {
  success: true,
  protocol_version: 1,
  kernel_version: '0.1.0',
  agent_id: 1,
  name: null,
  level: 'standard',
  admin: false,
  features: ['exec'],
  limits: { max_payload: 1, max_pipeline: 1, exec_max_timeout_s: 1, exec_max_output_bytes: 1, read_max_bytes: 1 },
};

describe('describeZodError on real schemas', () => {
  it('names "timeout" and a number when EXEC gets timeout: "x"', () => {
    const { message, field } = describeFailure(ExecRequest, { command: 'ls', timeout: 'x' });
    expect(field).toBe('timeout');
    expect(message).toContain('field "timeout"');
    expect(message).toMatch(/number/);
    expect(message).toMatch(/seconds/);
    expect(message.startsWith('invalid request: ')).toBe(true);
  });

  it('names "content" and a string when WRITE has no content', () => {
    const { message, field } = describeFailure(WriteRequest, { path: '/tmp/a' });
    expect(field).toBe('content');
    expect(message).toContain('field "content"');
    expect(message).toMatch(/string/);
  });

  it('names a missing command and says a string was expected', () => {
    const { message, field } = describeFailure(ExecRequest, {});
    expect(field).toBe('command');
    expect(message).toMatch(/shell command/);
    expect(message).toMatch(/string/);
  });

  it('says what bounds a number broke', () => {
    expect(describeFailure(ExecRequest, { command: 'ls', timeout: -1 }).message).toMatch(/timeout.*positive/);
    expect(describeFailure(ExecRequest, { command: 'ls', timeout: 1e9 }).message).toMatch(/timeout.*at most 86400 seconds/);
    const offset = describeFailure(ReadRequest, { path: '/a', offset: -1 });
    expect(offset.field).toBe('offset');
    expect(offset.message).toMatch(/0 or more/);
  });

  it('lists the allowed values of an enum', () => {
    const mode = describeFailure(WriteRequest, { path: '/a', content: '', mode: 'overwrite' });
    expect(mode.field).toBe('mode');
    expect(mode.message).toMatch(/write/);
    expect(mode.message).toMatch(/append/);
    const encoding = describeFailure(ReadRequest, { path: '/a', encoding: 'latin1' });
    expect(encoding.field).toBe('encoding');
    expect(encoding.message).toMatch(/utf8/);
    expect(encoding.message).toMatch(/base64/);
  });

  it('names a nested record field as env.NAME', () => {
    const { message, field } = describeFailure(ExecRequest, { command: 'ls', env: { PATH: 1 } });
    expect(field).toBe('env.PATH');
    expect(message).toContain('field "env.PATH"');
    expect(message).toMatch(/expected string/);
  });

  it('names the key of a record whose key is refused', () => {
    const { field, message } = describeFailure(ExecRequest, { command: 'ls', env: { 'A=B': 'x' } });
    expect(field).toBe('env.A=B');
    expect(message).toContain('env.A=B');
  });

  it('names a nested object field as limits.read_max_bytes', () => {
    const { message, field } = describeFailure(HelloReply, {
      ...validHelloReply,
      limits: { ...validHelloReply.limits, read_max_bytes: 'lots' },
    });
    expect(field).toBe('limits.read_max_bytes');
    expect(message).toContain('field "limits.read_max_bytes"');
    expect(message).toMatch(/expected number/);
  });

  it('names an array element with its index, as features[1]', () => {
    const { message, field } = describeFailure(HelloReply, { ...validHelloReply, features: ['exec', 2] });
    expect(field).toBe('features[1]');
    expect(message).toContain('field "features[1]"');
    expect(message).toMatch(/expected string/);
  });

  it('reports the first issue and counts the others', () => {
    const { message, field } = describeFailure(HelloReply, {
      ...validHelloReply,
      features: ['exec', 2],
      limits: { ...validHelloReply.limits, read_max_bytes: 'lots' },
      level: 'root',
    });
    // Issues come in schema order: level is declared before features and limits.
    expect(field).toBe('level');
    expect(message).toMatch(/unrestricted, standard, sandboxed, readonly, minimal/);
    expect(message).toMatch(/\(and 2 more problem\(s\)\)$/);
  });

  it('has no count suffix with a single issue', () => {
    expect(describeFailure(WriteRequest, { path: '/a' }).message).not.toMatch(/more problem/);
  });

  it('names the whole request, with an empty field, when the payload is not an object', () => {
    const { message, field } = describeFailure(HelloRequest, 5);
    expect(field).toBe('');
    expect(message).toMatch(/^invalid request: /);
    expect(message).toMatch(/expected object/);
  });

  it('uses the given noun for what was invalid', () => {
    const { message } = describeFailure(WriteRequest, { path: '/a' }, 'WRITE payload');
    expect(message.startsWith('invalid WRITE payload: field "content": ')).toBe(true);
  });

  it('copes with an error that has no issues', () => {
    expect(describeZodError(new z.ZodError([]))).toEqual({ message: 'invalid request', field: '' });
  });
});

describe('formatIssuePath', () => {
  it('writes paths as a person would', () => {
    expect(formatIssuePath([])).toBe('');
    expect(formatIssuePath(['timeout'])).toBe('timeout');
    expect(formatIssuePath(['env', 'PATH'])).toBe('env.PATH');
    expect(formatIssuePath(['files', 2, 'name'])).toBe('files[2].name');
    expect(formatIssuePath(['matrix', 0, 1])).toBe('matrix[0][1]');
    expect(formatIssuePath([0, 'a'])).toBe('[0].a');
  });
});

describe('error catalogue', () => {
  it('has exactly the codes of protocol.md §4', () => {
    expect([...ERROR_CODES].sort()).toEqual(
      [
        'INVALID_REQUEST',
        'PERMISSION_DENIED',
        'NOT_FOUND',
        'CONFLICT',
        'QUOTA_EXCEEDED',
        'TIMEOUT',
        'UNSUPPORTED_OPCODE',
        'BAD_FRAME',
        'UNAVAILABLE',
        'INTERNAL',
      ].sort(),
    );
  });

  it('builds replies with success false, code, error and extra fields', () => {
    expect(errorReply('INVALID_REQUEST', 'invalid request: field "timeout": x', { field: 'timeout' })).toEqual({
      success: false,
      code: 'INVALID_REQUEST',
      error: 'invalid request: field "timeout": x',
      field: 'timeout',
    });
    expect(errorReply('NOT_FOUND', 'no such agent')).toEqual({ success: false, code: 'NOT_FOUND', error: 'no such agent' });
  });

  it('carries code and details on KernelError', () => {
    const err = new KernelError('CONFLICT', 'value changed', { value: 3 });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('KernelError');
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toBe('value changed');
    expect(err.details).toEqual({ value: 3 });
    expect(new KernelError('INTERNAL', 'x').details).toBeUndefined();
  });
});
