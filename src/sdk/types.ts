/**
 * The SDK's request, reply and option types. Requests and replies are inferred from the
 * protocol's zod schemas; options are the wire fields in camelCase (`waitMs` for
 * `wait_ms`), with enum-like types taken from the schemas too.
 */
import type { z } from 'zod';
import type { KillRequest } from '../protocol/schemas/agents.js';
import type { EventFilter } from '../protocol/schemas/events.js';
import type { DownloadReply, DownloadRequest, HttpReply, HttpRequest } from '../protocol/schemas/network.js';
import type { ExecReply, ExecRequest } from '../protocol/schemas/process.js';
import type { CasRequest, FetchRequest, IncrRequest, KeysRequest, StoreRequest } from '../protocol/schemas/state.js';
import type { ThinkReply, ThinkRequest } from '../protocol/schemas/think.js';
import type { InProcessConnection } from '../transports/inprocess.js';

/** What a method accepts: the schema's input (fields with defaults are optional). */
export type Request<S extends z.ZodType> = z.input<S>;
/** What a method resolves to: the schema's output. */
export type Reply<S extends z.ZodType> = z.output<S>;

export interface ConnectOptions {
  /** Unix socket path: else `$AGENTOS_SOCKET`, else /tmp/agentos.sock. */
  socketPath?: string;
  /** A kernel's HTTP URL (`http://127.0.0.1:7391`) to use the WebSocket instead. */
  url?: string;
  /** An in-process connection from `kernel.connect()`. */
  connection?: InProcessConnection;
  /** Name sent in HELLO. */
  name?: string;
  /** Token sent in HELLO; defaults to `$AGENTOS_AGENT_TOKEN` when set; null sends none. */
  token?: string | null;
  /** Send HELLO on connect (default true). */
  hello?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** An agent by id (a number) or by name (a string). */
export type AgentRef = number | string;

// Agents

export interface KillOptions {
  /** Default SIGTERM. */
  signal?: Request<typeof KillRequest>['signal'];
  /** How long the agent has to exit before SIGKILL (default 5000 ms). */
  graceMs?: number;
}

export interface LogsOptions {
  /** At most this many lines (default 200). */
  lines?: number;
  /** Lines after this sequence number (a reply's `next_seq`); 0, the default, means the newest `lines`. */
  afterSeq?: number;
  /** Wait up to this long for a line newer than `afterSeq` (default 0; follow mode). */
  waitMs?: number;
}

// Messages

export interface SendOptions {
  /** The id of the message this one answers (see `request`). */
  replyTo?: number;
}

export interface RecvOptions {
  /** At most this many messages (default 10). */
  max?: number;
  /** Wait up to this long for the first message (default 0: return at once). */
  waitMs?: number;
}

export interface MessagesOptions {
  /** The length of each RECV long poll (default 30 s, at most 60 s). */
  waitMs?: number;
  /** Ends the iteration. */
  signal?: AbortSignal;
}

// State

/** `scope`: "agent" (private to the caller, the default), "global" or "session". */
export type ScopeOptions = Pick<Request<typeof FetchRequest>, 'scope'>;
/** `ttl`: seconds until the key expires (none by default). */
export type StoreOptions = Pick<Request<typeof StoreRequest>, 'scope' | 'ttl'>;
/** `prefix` (default ""), `scope`, `limit` (default 1000). */
export type KeysOptions = Request<typeof KeysRequest>;
/** `ttl` of the new value, as for `store`. */
export type CasOptions = Pick<Request<typeof CasRequest>, 'scope' | 'ttl'>;
/** `by`: the increment (default 1; may be negative or fractional). */
export type IncrOptions = Pick<Request<typeof IncrRequest>, 'by' | 'scope'>;

// Events

export interface SubscribeOptions {
  /** Only events whose `data.agent_id` / `source_agent_id` match; `path` (a glob) for FILE_CHANGED. */
  filter?: EventFilter;
}

export interface PollEventsOptions {
  /** At most this many events (default 100, at most 1000). */
  max?: number;
  /** Wait up to this long for the first event (default 0: return at once; at most 60000). */
  waitMs?: number;
}

export interface EmitOptions {
  /** Deliver to this agent too when it is subscribed (default false). */
  includeSelf?: boolean;
}

export interface EventsOptions {
  /** The length of each POLL_EVENTS long poll (default 30 s, at most 60 s). */
  waitMs?: number;
  /** Ends the iteration. */
  signal?: AbortSignal;
  /**
   * Called with the number of events the kernel dropped for this agent (its queue was
   * full), at the point in the stream where they were lost: before the first event
   * that came after them. Without it, losses are skipped silently.
   */
  onDropped?: (count: number) => void;
}

// Asynchronous calls

/** The syscalls that run in the background (`startAsync`), with what each takes and answers. */
export interface AsyncOps {
  EXEC: { request: Request<typeof ExecRequest>; reply: Reply<typeof ExecReply> };
  HTTP: { request: Request<typeof HttpRequest>; reply: Reply<typeof HttpReply> };
  THINK: { request: Request<typeof ThinkRequest>; reply: Reply<typeof ThinkReply> };
  DOWNLOAD: { request: Request<typeof DownloadRequest>; reply: Reply<typeof DownloadReply> };
}
export type AsyncOp = keyof AsyncOps;
/** What `startAsync(op, request)` takes: the op's request, without `async` (the SDK sets it). */
export type AsyncRequest<O extends AsyncOp> = Omit<AsyncOps[O]['request'], 'async'>;

declare const asyncOp: unique symbol;
/**
 * The request id of a call `startAsync` started (a number on the wire); it remembers
 * which op it is, so `asyncResult` resolves to that op's reply type.
 */
export type AsyncRequestId<O extends AsyncOp = AsyncOp> = number & { readonly [asyncOp]?: O };

export interface AsyncResultOptions {
  /** Reject with TIMEOUT after this long (default: no limit; each of these calls has the kernel's own timeout). */
  timeoutMs?: number;
}

export interface AsyncPollOptions {
  /** At most this many results (default 10, at most 100). */
  max?: number;
  /** Wait up to this long for the first result while calls run (default 0: return at once; at most 60000). */
  waitMs?: number;
}

export interface AsyncResultsOptions {
  /** Ends the iteration. */
  signal?: AbortSignal;
}
