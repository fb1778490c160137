/**
 * Samples every process agent on a timer: the memory and CPU time of its process tree
 * (/proc), or its cgroup's memory when it has a group of its own. One tick reads a few
 * small files per process asynchronously; a tick still running when the next is due is
 * skipped rather than stacked. The timer is unref'd: it never keeps the kernel alive.
 */
import type { AgentRecord, AgentRegistry } from '../agents/registry.js';
import type { Logger } from '../kernel/logger.js';
import type { AgentSlotContext } from '../machines/agent.machine.js';
import { type CgroupDirs, cgroupDirsOf, ownDirs, readCgroupFigures } from './cgroup.js';
import { sampleTree } from './procfs.js';

/** What one tick measured of one process agent (its current run). */
export interface ProcessSample {
  /** The run's root process. */
  pid: number;
  /** Its process group. */
  pgrp: number;
  /** Where signals for the whole agent go (TreeSample.targets): its process groups, and any process outside them. */
  targets: number[];
  /** The live processes of the tree. */
  pids: number[];
  /** Memory charged to the agent: its cgroup's when it has one of its own, else the tree's RSS. */
  memory_bytes: number;
  memory_source: 'cgroup' | 'proc';
  /** The tree's resident memory (/proc), whichever the source above. */
  rss_bytes: number;
  /** CPU time of the current run (user + system, waited-for children included). */
  cpu_time_ms: number;
  /** Percent of one core over the last interval (100 = one full core); null on a run's first sample. */
  cpu_percent: number | null;
  /** Every process of the tree is stopped (paused or throttled). */
  stopped: boolean;
  sampled_at: number;
}

export type SampleListener = (agent: AgentRecord, sample: ProcessSample) => void;

interface Tracked {
  pid: number;
  /** The agent's own memory group, if any (looked up once per run). */
  memoryDirs: Promise<CgroupDirs | null>;
  last: ProcessSample | undefined;
}

export class ProcessSampler {
  readonly #registry: AgentRegistry;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #listeners = new Set<SampleListener>();
  readonly #tracked = new Map<number, Tracked>();
  #kernelDirs: Promise<CgroupDirs | null> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(deps: { registry: AgentRegistry; log: Logger; intervalMs: number }) {
    this.#registry = deps.registry;
    this.#log = deps.log.child({ component: 'process-sampler' });
    this.#intervalMs = deps.intervalMs;
    deps.registry.onRemove((record) => this.#tracked.delete(record.id));
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  /** Called after each sample of each agent (the enforcer, tests). Returns the remover. */
  onSample(listener: SampleListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The agent's last sample; undefined when it is not a running process agent or was not sampled yet. */
  last(agentId: number): ProcessSample | undefined {
    return this.#tracked.get(agentId)?.last;
  }

  /** One round over every process agent now; concurrent callers share the round in progress. */
  tick(): Promise<void> {
    this.#ticking ??= this.#round().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #round(): Promise<void> {
    const work: Promise<void>[] = [];
    for (const agent of this.#registry) {
      const pid = runningPid(agent);
      if (pid === null) {
        this.#tracked.delete(agent.id);
        continue;
      }
      work.push(
        this.#sample(agent, pid).catch((error: unknown) =>
          this.#log.warn({ err: error, agent_id: agent.id }, 'could not sample a process agent'),
        ),
      );
    }
    await Promise.all(work);
  }

  async #sample(agent: AgentRecord, pid: number): Promise<void> {
    let tracked = this.#tracked.get(agent.id);
    if (tracked?.pid !== pid) {
      // A new run (a restart): its CPU time starts again, and it may sit in a new group.
      tracked = { pid, memoryDirs: this.#ownGroup(pid), last: undefined };
      this.#tracked.set(agent.id, tracked);
    }
    const tree = await sampleTree(pid);
    if (!tree || this.#tracked.get(agent.id) !== tracked) return;
    const now = Date.now();
    let memory = tree.rssBytes;
    let source: ProcessSample['memory_source'] = 'proc';
    const dirs = await tracked.memoryDirs;
    if (dirs !== null) {
      const figures = await readCgroupFigures({ v2: dirs.v2, v1: { memory: dirs.v1.memory } });
      if (figures.memory?.current_bytes != null) {
        memory = figures.memory.current_bytes;
        source = 'cgroup';
      }
    }
    const previous = tracked.last;
    // A process that ended takes its CPU time with it: the run's total never goes down.
    const cpuTime = Math.max(tree.cpuTimeMs, previous?.cpu_time_ms ?? 0);
    const elapsed = previous ? now - previous.sampled_at : 0;
    const sample: ProcessSample = {
      pid,
      pgrp: tree.pgrp,
      targets: tree.targets,
      pids: tree.pids,
      memory_bytes: memory,
      memory_source: source,
      rss_bytes: tree.rssBytes,
      cpu_time_ms: Math.round(cpuTime),
      cpu_percent: previous && elapsed > 0 ? Math.round(((cpuTime - previous.cpu_time_ms) / elapsed) * 1000) / 10 : null,
      stopped: tree.stopped,
      sampled_at: now,
    };
    tracked.last = sample;
    for (const listener of this.#listeners) listener(agent, sample);
  }

  /** The memory group the agent has of its own (the sandbox's, for `limits`), or null. */
  async #ownGroup(pid: number): Promise<CgroupDirs | null> {
    this.#kernelDirs ??= cgroupDirsOf('self');
    const [agent, kernel] = await Promise.all([cgroupDirsOf(pid), this.#kernelDirs]);
    if (agent === null || kernel === null) return null;
    const own = ownDirs(agent, kernel);
    return own !== null && (own.v2 !== null || own.v1.memory !== undefined) ? own : null;
  }
}

/** The root pid of a process agent's current run, or null when it is not running (or paused). */
export function runningPid(agent: AgentRecord): number | null {
  if (agent.kind !== 'process') return null;
  const snapshot = agent.runtime?.slot.getSnapshot();
  if (!snapshot?.matches('alive')) return null;
  return (snapshot.context as AgentSlotContext).pid;
}
