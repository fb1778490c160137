/**
 * A WebSocket from /kernel or /agent, from its upgrade to its close (docs/relay.md §2, §7):
 * the auth window, every frame through the codec, then the authenticated peer's messages
 * handed to the relay core.
 */
import type { RawData, WebSocket } from 'ws';
import { type DecodeResult, decode } from '../protocol/codec.js';
import type { AgentSession } from './agent-sessions.js';
import type { RelayCore } from './core.js';
import type { KernelLink } from './kernel-links.js';
import { Peer, type PeerKind } from './peer.js';

export function acceptConnection(core: RelayCore, ws: WebSocket, kind: PeerKind): void {
  const peer = new Peer(ws, kind, core.now());
  const { limits } = core;
  const maxBytes = limits.max_message_bytes;
  let link: KernelLink | undefined;
  let session: AgentSession | undefined;
  /** Refused or timed out: the close is on its way and nothing more is read. */
  let ended = false;

  core.unauthenticated.add(peer);
  const authTimer = setTimeout(() => {
    ended = true;
    core.unauthenticated.delete(peer);
    peer.fail('AUTH_TIMEOUT', `no ${kind}_auth within ${limits.auth_timeout_ms} ms`);
  }, limits.auth_timeout_ms);

  const authenticating = () => {
    clearTimeout(authTimer);
    core.unauthenticated.delete(peer);
  };

  /** A frame the codec refused. Before auth, and for TOO_LARGE, the link ends (§7). */
  const refused = (out: Extract<DecodeResult<unknown>, { ok: false }>) => {
    const authenticated = link !== undefined || session !== undefined;
    if (!authenticated || out.code === 'TOO_LARGE') {
      if (!authenticated) authenticating();
      ended = true;
      if (link !== undefined) core.dropLink(link, { code: out.code, error: out.error });
      else if (session !== undefined) core.closeSession(session, 'agent_closed', { code: out.code, error: out.error });
      else peer.fail(out.code, out.error);
      return;
    }
    // The codec gives "" for a fault of the whole object (e.g. an extra key, named in the text).
    const field = out.field ? out.field : undefined;
    if (session !== undefined) core.toAgent(session, { type: 'error', code: out.code, error: out.error, ...(field ? { field } : {}) });
    else peer.error(out.code, out.error, field);
  };

  const unauthenticated = (type: string) => {
    authenticating();
    ended = true;
    const shown = type.length <= 32 ? `"${type}"` : 'a message';
    peer.fail('UNAUTHENTICATED', `${shown} before ${kind}_auth: authenticate first`);
  };

  const onKernelFrame = (data: RawData) => {
    const out = decode(data, { direction: 'kernel_to_relay', maxBytes });
    if (!out.ok) return refused(out);
    if (link !== undefined) return core.onKernelMessage(link, out.message);
    if (out.message.type !== 'kernel_auth') return unauthenticated(out.message.type);
    authenticating();
    link = core.authenticateKernel(peer, out.message);
    if (link === undefined) ended = true;
  };

  const onAgentFrame = (data: RawData) => {
    const out = decode(data, { direction: 'agent_to_relay', maxBytes });
    if (!out.ok) return refused(out);
    if (session !== undefined) return core.onAgentMessage(session, out.message);
    if (out.message.type !== 'agent_auth') return unauthenticated(out.message.type);
    authenticating();
    session = core.authenticateAgent(peer, out.message);
    if (session === undefined) ended = true;
  };

  ws.on('message', (data: RawData) => {
    if (ended) return;
    peer.lastReceived = core.now();
    if (kind === 'kernel') onKernelFrame(data);
    else onAgentFrame(data);
  });
  // ws reports protocol violations (e.g. a frame over maxPayload: closed with 1009) here;
  // without a listener they would be thrown.
  ws.on('error', (error: Error) => core.log.debug({ kind, err: error.message }, 'relay socket error'));
  ws.on('close', () => {
    clearTimeout(authTimer);
    core.unauthenticated.delete(peer);
    if (link !== undefined) core.dropLink(link, null);
    if (session !== undefined) core.closeSession(session, 'agent_closed', null);
  });
}
