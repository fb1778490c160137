/**
 * Small helpers shared by the integration tests (not a test file itself).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { AgentRecord as AgentSession } from '../../src/agents/registry.js';
import type { Kernel } from '../../src/kernel/index.js';
import type { RawClient } from '../helpers/kernel.js';

/** A JSON failure reply as the kernel sends it (protocol.md §4). */
export interface FailureReply {
  success: false;
  code: string;
  error: string;
  field?: string;
  [extra: string]: unknown;
}

/** Assert a reply is a failure with `code` and a non-empty sentence; returns it typed. */
export function expectFailure(reply: unknown, code: string): FailureReply {
  const failure = reply as FailureReply;
  expect(failure.success, JSON.stringify(reply)).toBe(false);
  expect(failure.code, JSON.stringify(reply)).toBe(code);
  expect(typeof failure.error).toBe('string');
  expect(failure.error.length).toBeGreaterThan(0);
  return failure;
}

/** Poll `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Live (non-zombie) processes in process group `pgid`, read from /proc. Zombies are
 * left out: a killed orphan may wait for a reaper that this container does not run.
 */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // the process ended while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
  }
  return members;
}

/** The session of the agent with `id`, if it is still connected. */
export function session(kernel: Kernel, id: number): AgentSession | undefined {
  return kernel.agents().find((agent) => agent.id === id);
}

/** The agent id of a raw connection, learned from a NOOP reply's header. */
export async function agentIdOf(client: RawClient): Promise<number> {
  client.send(0x00, 'whoami');
  const frame = await client.frame();
  if (!frame) throw new Error('the kernel closed the connection');
  return frame.agentId;
}
