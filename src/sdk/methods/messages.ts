/**
 * Messages: SEND, RECV, BROADCAST, REGISTER, and request/reply over them. RECV is a long
 * poll shared by `recv`, `request` and `messages()` (long-poll.ts): answers go to the
 * `request` waiting for them, the rest to the inbox, so no caller loses another's message.
 */
import { Op } from '../../protocol/opcodes.js';
import {
  type BroadcastReply,
  MAX_RECV_WAIT_MS,
  type Message,
  type RecvReply,
  type RegisterReply,
  type RegisterRequest,
  type SendReply,
} from '../../protocol/schemas/ipc.js';
import { AgentOSError } from '../errors.js';
import { LongPoll } from '../long-poll.js';
import type { AgentRef, MessagesOptions, RecvOptions, Reply, Request, SendOptions } from '../types.js';
import { type Context, DEFAULT_ITERATOR_WAIT_MS, iteratorSignal } from './context.js';

/** `request`'s timeout when none is given. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Messages one long poll of the SDK takes at most. */
const MAX_RECV_BATCH = 100;

export function messageMethods(context: Context) {
  const { call } = context;
  /** Requests waiting for their answer: message id → deliver it. */
  const awaitingReply = new Map<number, (reply: Message) => void>();
  /** RECV: messages nobody has taken yet (another caller's RECV brought them, or request's wait). */
  const messages = new LongPoll<Message>({
    poll: async (max, waitMs) => (await call<Reply<typeof RecvReply>>(Op.RECV, { max, wait_ms: waitMs })).messages,
    batch: MAX_RECV_BATCH,
    maxWaitMs: MAX_RECV_WAIT_MS,
    // Answers go to their waiting requests; the rest stay in the inbox.
    take: (arrived, inbox) => {
      for (const message of arrived) {
        const waiting = message.reply_to === undefined ? undefined : awaitingReply.get(message.reply_to);
        if (waiting) {
          awaitingReply.delete(message.reply_to as number);
          waiting(message);
        } else inbox.push(message);
      }
    },
  });
  const inbox = messages.buffer;

  const methods = {
    /**
     * SEND to an agent id or name; `replyTo` marks the message as the answer to another.
     * Rejects with NOT_FOUND (no such live agent) or QUOTA_EXCEEDED (its mailbox is full).
     */
    send(to: AgentRef, message: unknown, options: SendOptions = {}): Promise<Reply<typeof SendReply>> {
      const recipient = typeof to === 'number' ? { to } : { to_name: to };
      const replyTo = options.replyTo === undefined ? {} : { reply_to: options.replyTo };
      return call(Op.SEND, { ...recipient, message, ...replyTo });
    },

    /** Answers a received message: a SEND to its sender with `reply_to` = its id. */
    reply(to: Message, message: unknown): Promise<Reply<typeof SendReply>> {
      return methods.send(to.from, message, { replyTo: to.id });
    },

    /**
     * RECV: up to `max` messages, waiting up to `waitMs` for the first. Messages an
     * earlier call brought in (while `request` waited for its answer) come first.
     */
    async recv(options: RecvOptions = {}): Promise<Message[]> {
      const max = options.max ?? 10;
      const waitMs = options.waitMs ?? 0;
      if (inbox.length === 0) {
        if (waitMs > 0) await messages.until(Date.now() + waitMs, () => inbox.length > 0);
        else await messages.now(max);
      }
      return inbox.splice(0, max);
    },

    /** BROADCAST to every live agent (this one too with `includeSelf`). */
    broadcast(message: unknown, options: { includeSelf?: boolean } = {}): Promise<Reply<typeof BroadcastReply>> {
      return call(Op.BROADCAST, { message, include_self: options.includeSelf ?? false });
    },

    /**
     * REGISTER a unique name for this agent (CONFLICT when another live agent holds it), or
     * `{ name?, role? }`: a role (many agents per role) makes it a taker of subtasks asking for it.
     */
    register(name: string | Request<typeof RegisterRequest>): Promise<Reply<typeof RegisterReply>> {
      return call(Op.REGISTER, typeof name === 'string' ? { name } : name);
    },

    /**
     * Request/response over SEND: sends `message`, then waits for the message whose
     * `reply_to` is this one's id (the responder answers with `reply(received, answer)`,
     * or any SEND with `reply_to` = the id it received). Resolves to that reply; other
     * messages arriving meanwhile stay for `recv` and `messages`. TIMEOUT after `timeoutMs`.
     */
    async request(to: AgentRef, message: unknown, options: { timeoutMs?: number } = {}): Promise<Message> {
      const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
      const deadline = Date.now() + timeoutMs;
      let reply: Message | undefined;
      const sent = await methods.send(to, message);
      const id = sent.message_id;
      // It may have come in already, through a RECV of another caller.
      const early = inbox.findIndex((m) => m.reply_to === id);
      if (early >= 0) return inbox.splice(early, 1)[0] as Message;
      awaitingReply.set(id, (answer) => {
        reply = answer;
      });
      try {
        await messages.until(deadline, () => reply !== undefined);
      } finally {
        awaitingReply.delete(id);
      }
      if (reply === undefined) {
        throw new AgentOSError('TIMEOUT', `no reply to message ${id} (sent to ${JSON.stringify(to)}) within ${timeoutMs} ms`);
      }
      return reply;
    },

    /**
     * Every incoming message, as it arrives (RECV long polls of `waitMs`, default 30 s,
     * in a loop). Ends when the client closes or `signal` aborts; a RECV still in flight
     * then keeps what it brings for the next `recv` or `messages`.
     */
    async *messages(options: MessagesOptions = {}): AsyncGenerator<Message, void, undefined> {
      const waitMs = Math.min(options.waitMs ?? DEFAULT_ITERATOR_WAIT_MS, MAX_RECV_WAIT_MS);
      const signal = iteratorSignal(context, options.signal);
      while (!signal.aborted) {
        const next = inbox.shift();
        if (next) {
          yield next;
          continue;
        }
        try {
          await messages.until(Date.now() + waitMs, () => inbox.length > 0, signal);
        } catch (error) {
          if (context.closing.aborted) return;
          throw error;
        }
      }
    },
  };
  return methods;
}
