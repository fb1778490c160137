/** AgentRegistry.register on its own: uniqueness, a client's rename, a supervised agent's second name, release on removal. */
import { describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/agents/registry.js';
import { KernelError } from '../../src/protocol/errors.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof KernelError ? error.code : String(error);
  }
  return 'ok';
};

describe('AgentRegistry.register', () => {
  it('a name belongs to one live agent; a client renames; removal releases', () => {
    const registry = new AgentRegistry();
    const a = registry.create({ kind: 'client', level: 'standard', cwd: '/' });
    const b = registry.create({ kind: 'client', level: 'standard', cwd: '/' });
    registry.register(a.id, 'one');
    expect(code(() => registry.register(b.id, 'one'))).toBe('CONFLICT');
    expect(code(() => registry.register(a.id, 'one'))).toBe('ok');
    registry.register(a.id, 'two');
    expect(a.name).toBe('two');
    expect(registry.byName('one')).toBeUndefined();
    registry.register(b.id, 'one');
    registry.remove(a.id);
    expect(registry.byName('two')).toBeUndefined();
    expect(code(() => registry.register(b.id, 'two'))).toBe('ok');
    expect(code(() => registry.register(99, 'x'))).toBe('NOT_FOUND');
  });

  it('an unreserved HELLO name of another live client conflicts too', () => {
    const registry = new AgentRegistry();
    registry.create({ kind: 'client', name: 'hello-name', level: 'standard', cwd: '/' });
    const b = registry.create({ kind: 'client', level: 'standard', cwd: '/' });
    expect(code(() => registry.register(b.id, 'hello-name'))).toBe('CONFLICT');
  });

  it('a supervised agent keeps its spawn name and answers to one REGISTERed name; both go with it', () => {
    const registry = new AgentRegistry();
    const p = registry.create({ kind: 'process', name: 'spawned', level: 'standard', cwd: '/' });
    registry.register(p.id, 'alias-1');
    registry.register(p.id, 'alias-2');
    expect(p.name).toBe('spawned');
    expect(registry.byName('spawned')?.id).toBe(p.id);
    expect(registry.byName('alias-2')?.id).toBe(p.id);
    expect(registry.byName('alias-1')).toBeUndefined();
    registry.remove(p.id);
    expect(registry.byName('alias-2')).toBeUndefined();
    expect(registry.byName('spawned')).toBeUndefined();
  });
});
