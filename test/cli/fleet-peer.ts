/**
 * Raw WebSocket peers of a real relay for the fleet tests: a kernel that authenticates
 * with a machine token and answers deploy/stop as a kernel would, and a remote agent that
 * authenticates and holds a session. They speak the wire protocol with the codec, so the
 * relay is exercised as a real kernel would exercise it.
 */
import WebSocket from 'ws';
import { decode, encode } from '../../src/relay/protocol/codec.js';
import type { MessageOf, RelayToAgent, RelayToKernel } from '../../src/relay/protocol/schemas.js';

export interface KernelPeer {
  /** Every deploy and stop the relay sent, in order. */
  received: RelayToKernel[];
  /** Names the peer refuses to deploy (answers CONFLICT). */
  refuse: Set<string>;
  close(): Promise<void>;
}

export async function connectKernelPeer(relayUrl: string, machineId: string, token: string): Promise<KernelPeer> {
  const ws = new WebSocket(`${relayUrl}/kernel`);
  const received: RelayToKernel[] = [];
  const refuse = new Set<string>();
  let nextAgentId = 5000;
  const send = (message: MessageOf<'kernel_to_relay'>) => ws.send(encode(message));
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => send({ type: 'kernel_auth', machine_id: machineId, token, kernel_version: '0.1.0-test' }));
    ws.on('message', (data: Buffer) => {
      const decoded = decode(data, { direction: 'relay_to_kernel', maxBytes: 16 * 1024 * 1024 });
      if (!decoded.ok) return reject(new Error(`kernel peer could not read: ${decoded.error}`));
      const message = decoded.message as RelayToKernel;
      if (message.type === 'auth_ok') return resolve();
      if (message.type === 'auth_error') return reject(new Error(`kernel peer refused: ${message.code}`));
      if (message.type === 'ping') return send({ type: 'pong', ts: message.ts });
      received.push(message);
      if (message.type === 'deploy') {
        if (refuse.has(message.name))
          send({
            type: 'deploy_result',
            request_id: message.request_id,
            ok: false,
            code: 'CONFLICT',
            error: `an agent named "${message.name}" is running`,
          });
        else send({ type: 'deploy_result', request_id: message.request_id, ok: true, name: message.name, agent_id: nextAgentId++ });
      } else if (message.type === 'stop') {
        send({ type: 'stop_result', request_id: message.request_id, ok: true, name: message.name });
      }
    });
  });
  return {
    received,
    refuse,
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

export interface AgentPeer {
  session: number;
  /** Resolves when the relay closes the connection. */
  closed: Promise<void>;
  close(): Promise<void>;
}

export async function connectAgentPeer(relayUrl: string, machineId: string, token: string, name?: string): Promise<AgentPeer> {
  const ws = new WebSocket(`${relayUrl}/agent`);
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const session = await new Promise<number>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(encode({ type: 'agent_auth', token, machine_id: machineId, ...(name ? { name } : {}) })));
    ws.on('message', (data: Buffer) => {
      const decoded = decode(data, { direction: 'relay_to_agent', maxBytes: 16 * 1024 * 1024 });
      if (!decoded.ok) return reject(new Error(`agent peer could not read: ${decoded.error}`));
      const message = decoded.message as RelayToAgent;
      if (message.type === 'auth_ok') resolve(message.session);
      else if (message.type === 'auth_error') reject(new Error(`agent peer refused: ${message.code}`));
      else if (message.type === 'ping') ws.send(encode({ type: 'pong', ts: message.ts }));
    });
  });
  return {
    session,
    closed,
    close: () => {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      return closed;
    },
  };
}
