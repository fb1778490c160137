/**
 * One client connection's lifecycle, as a pure machine: open while requests flow,
 * draining once no more requests will be read (EXIT, a bad frame, the peer's
 * half-close, kernel shutdown) until the last reply is out, then closed.
 */
import { assign, setup } from 'xstate';
import type { TransportKind } from '../kernel/session.js';

export type CloseReason = 'exit' | 'bad_frame' | 'peer_ended' | 'idle_timeout' | 'shutdown' | 'disconnected';

export interface ConnectionInput {
  agentId: number;
  transport: TransportKind;
}

export interface ConnectionContext extends ConnectionInput {
  openedAt: number;
  closeReason: CloseReason | null;
}

export type ConnectionEvent = { type: 'connection.draining'; reason: Exclude<CloseReason, 'disconnected'> } | { type: 'connection.closed' };

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    input: {} as ConnectionInput,
    events: {} as ConnectionEvent,
  },
  actions: {
    recordReason: assign({
      closeReason: ({ context, event }) => (event.type === 'connection.draining' ? event.reason : (context.closeReason ?? 'disconnected')),
    }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({ ...input, openedAt: Date.now(), closeReason: null }),
  initial: 'open',
  states: {
    open: {
      on: {
        'connection.draining': { target: 'draining', actions: 'recordReason' },
        'connection.closed': { target: 'closed', actions: 'recordReason' },
      },
    },
    draining: {
      on: { 'connection.closed': 'closed' },
    },
    closed: { type: 'final' },
  },
});
