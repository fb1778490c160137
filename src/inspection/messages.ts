/**
 * The inspection stream's wire format, and the translation of XState inspection
 * events into it. Everything read from an actor goes through safeValue: contexts and
 * events are application data of any shape and size.
 */
import type { InspectionEvent } from 'xstate';
import { cutString, type SafeLimits, safeValue } from './safe-value.js';

export type InspectKind = 'actor' | 'event' | 'snapshot';

export interface SnapshotSummary {
  /** active, done, error or stopped. */
  status: string;
  /** The state value, for machines. */
  value?: unknown;
  context?: unknown;
  /** For a done actor. */
  output?: unknown;
  /** For a failed actor. */
  error?: unknown;
}

/** What a visualizer needs to place an actor in the tree. */
export interface ActorIdentity {
  /** The actor's id relative to its parent (`connection-3`); the root's is its session id. */
  actor: string;
  /**
   * The actor's session id (`x:12`): XState numbers sessions process-wide, so this is
   * unique across all the kernel's actor systems. `parent`, `source` and `{ref}` use it.
   */
  session: string;
  parent?: string;
  system_id?: string;
  /** The machine definition's id, for actors whose logic is a state machine. */
  machine?: string;
}

export interface LiveActor extends ActorIdentity {
  status: string;
  value?: unknown;
}

export interface InspectData extends ActorIdentity {
  kind: InspectKind;
  /** For events: the sender's session id, when there is one. */
  source?: string;
  /** For events: the event itself; for snapshots: the type of the event that caused it. */
  event?: Record<string, unknown>;
  snapshot?: SnapshotSummary;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface InspectMessage {
  push: 'INSPECT';
  data: InspectData;
}

export interface HelloMessage {
  push: 'INSPECT_HELLO';
  data: { actors: LiveActor[]; at: number };
}

export interface DroppedMessage {
  push: 'INSPECT_DROPPED';
  data: { count: number };
}

export type InspectionMessage = InspectMessage | HelloMessage | DroppedMessage;

/** Events are small by nature; one carrying a payload should not make a large message. */
const EVENT_LIMITS: SafeLimits = { depth: 3, keys: 20, chars: 256, nodes: 200, text: 4096 };
const VALUE_LIMITS: SafeLimits = { depth: 4, keys: 50, chars: 256, nodes: 500, text: 4096 };
const ID_CHARS = 256;

/** The fields of an XState Actor read here. The inspection types promise fewer, so each is checked. */
interface ActorInternals {
  id?: unknown;
  sessionId?: unknown;
  _parent?: { sessionId?: unknown };
  systemId?: unknown;
  options?: { systemId?: unknown };
  logic?: unknown;
  getSnapshot?: () => unknown;
}

/** `withMachine` is off for events and snapshots: the actor message already named the machine. */
export function describeActor(ref: unknown, withMachine = true): ActorIdentity {
  const actor = (ref ?? {}) as ActorInternals;
  const session = typeof actor.sessionId === 'string' ? actor.sessionId : '?';
  const identity: ActorIdentity = { actor: typeof actor.id === 'string' ? cutString(actor.id, ID_CHARS) : session, session };
  const parent = actor._parent?.sessionId;
  if (typeof parent === 'string') identity.parent = parent;
  // An actor announces itself before XState records its system id; the option has it already.
  const systemId = actor.systemId ?? actor.options?.systemId;
  if (typeof systemId === 'string') identity.system_id = cutString(systemId, ID_CHARS);
  const machine = withMachine ? machineId(actor.logic) : undefined;
  if (machine !== undefined) identity.machine = machine;
  return identity;
}

/** A StateMachine has an id, a root state node and a transition function; other logic has no definition. */
function machineId(logic: unknown): string | undefined {
  if (typeof logic !== 'object' || logic === null) return undefined;
  const machine = logic as { id?: unknown; root?: unknown; transition?: unknown };
  return typeof machine.id === 'string' && typeof machine.root === 'object' && typeof machine.transition === 'function'
    ? cutString(machine.id, ID_CHARS)
    : undefined;
}

/** Status and state value only: what the live-actor list keeps. */
export function snapshotState(snapshot: unknown): { status: string; value?: unknown } {
  if (typeof snapshot !== 'object' || snapshot === null) return { status: 'unknown' };
  const source = snapshot as { status?: unknown; value?: unknown };
  const state: { status: string; value?: unknown } = { status: typeof source.status === 'string' ? source.status : 'unknown' };
  if (source.value !== undefined) state.value = safeValue(source.value, VALUE_LIMITS);
  return state;
}

export function summarizeSnapshot(snapshot: unknown): SnapshotSummary {
  const summary: SnapshotSummary = snapshotState(snapshot);
  if (typeof snapshot !== 'object' || snapshot === null) return summary;
  const source = snapshot as { context?: unknown; output?: unknown; error?: unknown };
  if (source.context !== undefined) summary.context = safeValue(source.context);
  if (summary.status === 'done' && source.output !== undefined) summary.output = safeValue(source.output);
  if (summary.status === 'error') summary.error = safeValue(source.error);
  return summary;
}

export function summarizeEvent(event: unknown): Record<string, unknown> {
  const safe = safeValue(event, EVENT_LIMITS);
  if (typeof safe !== 'object' || safe === null || Array.isArray(safe)) return { type: '?' };
  const record = safe as Record<string, unknown>;
  if (typeof record.type !== 'string') record.type = '?';
  return record;
}

function eventType(event: unknown): string {
  const type = (event as { type?: unknown } | null | undefined)?.type;
  return typeof type === 'string' ? cutString(type, ID_CHARS) : '?';
}

/** The stream's data for one inspection event, or undefined for kinds not streamed (transitions, microsteps, actions). */
export function toInspectData(event: InspectionEvent, at: number): InspectData | undefined {
  switch (event.type) {
    case '@xstate.actor':
      return { kind: 'actor', ...describeActor(event.actorRef), at };
    case '@xstate.event': {
      const data: InspectData = { kind: 'event', ...describeActor(event.actorRef, false), event: summarizeEvent(event.event), at };
      const source = (event.sourceRef as { sessionId?: unknown } | undefined)?.sessionId;
      if (typeof source === 'string') data.source = source;
      return data;
    }
    case '@xstate.snapshot': {
      return {
        kind: 'snapshot',
        ...describeActor(event.actorRef, false),
        event: { type: eventType(event.event) },
        snapshot: summarizeSnapshot(event.snapshot),
        at,
      };
    }
    default:
      return undefined;
  }
}
