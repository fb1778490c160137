/**
 * The world snapshot file (worlds.md §6), version 1. One self-contained file:
 *
 *   AGENTOS-WORLD-SNAPSHOT v1 sha256=<64 hex> bytes=<n>\n
 *   <n bytes: gzip of the payload's JSON>
 *
 * The text header lets a foreign file be told apart at once ("not an AgentOS world
 * snapshot"), and a later format by its version, before anything is decompressed; the
 * sha256 covers the compressed bytes, so any corruption is caught before parsing. The
 * payload is validated with the schemas below (each part's own state schema).
 */
import { z } from 'zod';
import { WorldClockState } from '../clock.js';
import { LayerSnapshot } from '../fs/index.js';
import { NetworkSimulatorState } from '../network/index.js';
import { ChaosSchedulerState } from '../scheduler.js';
import { ScorerState } from '../scoring.js';

export const SNAPSHOT_MAGIC = 'AGENTOS-WORLD-SNAPSHOT';
export const SNAPSHOT_FORMAT = 'agentos-world-snapshot';
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_EXTENSION = '.agentos-world';
/** The header line is short; more than this before a newline is no header of ours. */
export const MAX_HEADER_BYTES = 256;
/** A snapshot file's size cap (compressed); the layer inside is bounded by the world's disk_quota as well. */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;
/** The decompressed JSON's cap: under V8's longest string, so parsing never fails on length. */
export const MAX_PAYLOAD_BYTES = 512 * 1024 * 1024;

const HEADER = /^AGENTOS-WORLD-SNAPSHOT v(\d{1,6}) sha256=([0-9a-f]{64}) bytes=(\d{1,12})$/;

export function formatHeader(sha256: string, bytes: number): string {
  return `${SNAPSHOT_MAGIC} v${SNAPSHOT_VERSION} sha256=${sha256} bytes=${bytes}\n`;
}

export type ParsedHeader = { ok: true; version: number; sha256: string; bytes: number } | { ok: false; problem: 'foreign' | 'header' };

/** The header line (without its newline): `foreign` when it is not ours at all. */
export function parseHeader(line: string): ParsedHeader {
  if (!line.startsWith(`${SNAPSHOT_MAGIC} `)) return { ok: false, problem: 'foreign' };
  const match = HEADER.exec(line);
  if (!match) return { ok: false, problem: 'header' };
  return { ok: true, version: Number(match[1]), sha256: match[2]!, bytes: Number(match[3]) };
}

const Uint32 = z.number().int().min(0).max(0xffff_ffff);

/** Counts only: the member list is recorded for the record, never restored. */
const SavedMember = z.strictObject({ agent_id: z.number().int().min(1), name: z.string().nullable(), joined_at: z.number() });

/** Every part's state, as `World.saveState()` returns it. */
export const WorldSavedState = z.strictObject({
  clock: WorldClockState,
  /** Streams whose position matters; the fs and chaos streams are forks by label (the chaos one is in `scheduler`). */
  random: z.strictObject({ network: z.tuple([Uint32, Uint32, Uint32, Uint32, Uint32]) }),
  scheduler: ChaosSchedulerState,
  network: NetworkSimulatorState,
  layer: LayerSnapshot,
  metrics: z.strictObject({
    crashes: z.strictObject({ killed: z.number().int().min(0), missed: z.number().int().min(0) }),
    syscalls: z.strictObject({ total: z.number().int().min(0), by_name: z.record(z.string(), z.number().int().min(0)) }),
  }),
  scorer: ScorerState,
  members: z.array(SavedMember),
});
export type WorldSavedState = z.infer<typeof WorldSavedState>;

/**
 * The definition as the kernel validated it at WORLD_CREATE (quantities already numbers).
 * It is not re-parsed from YAML: the checksum vouches for it, and each part re-checks its
 * own config as the world is rebuilt; only its outline is checked here.
 */
const SavedDefinition = z.looseObject({
  name: z.string().min(1),
  seed: Uint32,
  time_scale: z.number().positive(),
  filesystem: z.record(z.string(), z.unknown()),
  network: z.looseObject({ mocks: z.array(z.unknown()) }),
  events: z.array(z.unknown()),
  resources: z.looseObject({ max_agents: z.number().int().min(1) }),
});

export const SnapshotPayload = z.strictObject({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(SNAPSHOT_VERSION),
  snapshot_id: z.string().min(1),
  created_at: z.number(),
  kernel_version: z.string(),
  world: z.strictObject({
    id: z.string(),
    name: z.string(),
    /**
     * Who controlled the world, in which kernel run: agent ids are only unique within one
     * run, so a lineage from another run grants nothing (see WORLD_RESTORE).
     */
    owner: z
      .strictObject({ kernel_started_at: z.number(), lineage: z.array(z.number().int()).max(1024) })
      .nullable()
      .default(null),
  }),
  definition: SavedDefinition,
  state: WorldSavedState,
});
export type SnapshotPayload = z.infer<typeof SnapshotPayload>;
