/** What a supervised agent runs: the `launch` its slot hands to the run actor. */
import type { AnyActorLogic } from 'xstate';
import type { z } from 'zod';
import type { SupervisedChild } from '../machines/supervisor.machine.js';
import type { SpawnLimits } from '../protocol/schemas/agents.js';
import type { SupervisorFlags } from '../supervision/spec.js';

export interface ProcessLaunch {
  kind: 'process';
  /** Absolute path of the script or program. */
  script: string;
  args: string[];
  interpreter?: string | undefined;
  env: Record<string, string>;
  cwd: string;
  sandboxed: boolean;
  network: boolean;
  limits?: z.output<typeof SpawnLimits> | undefined;
  /** In the sandbox: host paths bound read-write (the agent's write paths, by literal base; src/sandbox/mounts.ts). */
  writablePaths?: string[] | undefined;
  /** In the sandbox: host paths covered wherever a bind would show them (the kernel's data directory, blocked paths). */
  hiddenPaths?: string[] | undefined;
  /** Unsandboxed by choice: why, for the isolation report's not_applied. */
  unsandboxedBecause?: string | undefined;
}

export interface ActorLaunch {
  kind: 'actor';
  logic: AnyActorLogic;
  input?: unknown;
}

export interface WorkerLaunch {
  kind: 'worker';
  /** Absolute path of the module whose default export is the agent. */
  file: string;
  input?: unknown;
}

export interface SupervisorLaunch {
  kind: 'supervisor';
  name: string;
  flags: SupervisorFlags;
  children: SupervisedChild[];
}

export type Launch = ProcessLaunch | ActorLaunch | WorkerLaunch | SupervisorLaunch;
