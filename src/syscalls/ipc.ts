/** SEND, RECV, BROADCAST and REGISTER: messages between agents (protocol.md §5). */
import { defineSyscall } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import { BroadcastRequest, MAX_MESSAGE_BYTES, RecvRequest, RegisterRequest, SendRequest } from '../protocol/schemas/ipc.js';

/** A message may sit in a mailbox (in every one, for BROADCAST) until RECV: its size is bounded. */
function checkSize(op: string, message: unknown): void {
  const size = Buffer.byteLength(JSON.stringify(message) ?? '');
  if (size > MAX_MESSAGE_BYTES) {
    throw new KernelError('INVALID_REQUEST', `${op}: message is ${size} bytes of JSON; at most ${MAX_MESSAGE_BYTES} are allowed`, {
      field: 'message',
    });
  }
}

export const send = defineSyscall({
  name: 'SEND',
  request: SendRequest,
  handle: (request, session, kernel) => {
    checkSize('SEND', request.message);
    const to = kernel.mailboxes.resolve(request);
    const message = kernel.mailboxes.deliver(session.agent, to, request.message, request.reply_to);
    return { success: true as const, delivered_to: to.id, message_id: message.id };
  },
});

export const recv = defineSyscall({
  name: 'RECV',
  request: RecvRequest,
  handle: async (request, session, kernel) => {
    const messages = await kernel.mailboxes.recv(session.agent.id, request.max, request.wait_ms, session.closed);
    return { success: true as const, messages, count: messages.length };
  },
});

export const broadcast = defineSyscall({
  name: 'BROADCAST',
  request: BroadcastRequest,
  handle: (request, session, kernel) => {
    checkSize('BROADCAST', request.message);
    const { delivered, full } = kernel.mailboxes.broadcast(session.agent, request.message, request.include_self);
    return { success: true as const, delivered_count: delivered, full };
  },
});

export const register = defineSyscall({
  name: 'REGISTER',
  request: RegisterRequest,
  handle: (request, session, kernel) => {
    const id = session.agent.id;
    // The name first: a taken name refuses the whole call, before any role is taken.
    if (request.name !== undefined) kernel.agents.register(id, request.name);
    if (request.role === undefined) return { success: true as const, agent_id: id, name: request.name ?? null };
    // A role that is new for this agent may let pending subtasks of that role be dispatched to it.
    if (kernel.roles.take(id, request.role)) kernel.tasks.roleAvailable(request.role);
    return { success: true as const, agent_id: id, name: request.name ?? session.agent.name, role: request.role };
  },
});
