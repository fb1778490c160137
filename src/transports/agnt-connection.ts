/**
 * One AGNT connection on the Unix socket: frames in, replies out in request order.
 *
 * Backpressure: the kernel stops reading a connection while it has `maxPipeline`
 * requests in flight or `maxBufferedBytes` of replies unread by the peer, and reads
 * again when both fall back, so a client that never reads cannot make it buffer
 * without bound.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../kernel/logger.js';
import type { Session } from '../kernel/session.js';
import { FrameDecoder, FrameError } from '../protocol/decoder.js';
import { errorReply } from '../protocol/errors.js';
import { encodeFrame } from '../protocol/frame.js';
import { BAD_FRAME_OPCODE } from '../protocol/opcodes.js';
import type { ConnectionHooks, TransportContext } from './connection-port.js';

interface PendingReply {
  opcode: number;
  body: Buffer | undefined;
}

/** How long a peer that does not read gets to take its last replies before it is cut. */
const CLOSE_GRACE_MS = 5_000;

/**
 * After the peer's EOF, how often an empty write checks whether it closed for good
 * while replies are still owed (see #probePeer).
 */
const PEER_PROBE_MS = 1_000;
const EMPTY = Buffer.alloc(0);

export class AgntConnection {
  readonly #socket: Socket;
  readonly #context: TransportContext;
  readonly #decoder: FrameDecoder;
  readonly #session: Session;
  readonly #hooks: ConnectionHooks;
  readonly #log: Logger;
  readonly #maxPipeline: number;
  readonly #maxBuffered: number;
  /** Replies in request order; the head may still be waiting for its handler. */
  #pending: PendingReply[] = [];
  #paused = false;
  /** No further request will be read (EXIT, bad frame, shutdown). */
  #stopReading = false;
  /** The peer half-closed: what is already buffered is still served. */
  #peerEnded = false;
  #ended = false;
  #destroyed = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, context: TransportContext) {
    this.#socket = socket;
    this.#context = context;
    this.#decoder = new FrameDecoder(context.options.maxPayload);
    this.#maxPipeline = context.options.maxPipeline;
    this.#maxBuffered = context.options.maxBufferedBytes;
    // EXIT asks for the close while its reply is being made: the reply goes out first (#updateFlow ends the socket).
    const { session, hooks } = context.openConnection('unix', () => this.#stopReadingFor('exit'));
    this.#session = session;
    this.#hooks = hooks;
    this.#log = context.log;

    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#onEnd());
    socket.on('drain', () => this.#maybeResume());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // EPIPE and ECONNRESET are a peer going away: 'close' follows and cleans up.
      this.#log.debug({ agent_id: this.#session.agent.id, code: error.code }, 'connection error');
    });
    socket.on('close', () => this.#onClose());
  }

  get agentId(): number {
    return this.#session.agent.id;
  }

  /** Kernel shutdown: stop reading, let in-flight replies out, then close. */
  shutdown(): void {
    this.#drain('shutdown');
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#stopReading) return;
    this.#decoder.push(chunk);
    this.#readFrames();
  }

  #readFrames(): void {
    const socket = this.#socket;
    socket.cork();
    try {
      while (!this.#stopReading && !this.#overLimit()) {
        let frame: ReturnType<FrameDecoder['next']>;
        try {
          frame = this.#decoder.next();
        } catch (error) {
          if (error instanceof FrameError) this.#badFrame(error);
          else throw error;
          break;
        }
        if (frame === undefined) break;
        this.#dispatch(frame.opcode, frame.payload);
      }
    } finally {
      socket.uncork();
    }
    this.#updateFlow();
  }

  #dispatch(opcode: number, payload: Buffer): void {
    let result: Buffer | Promise<Buffer>;
    try {
      result = this.#context.router.dispatchFrame(this.#session, opcode, payload);
    } catch (error) {
      // The router turns handler errors into replies; this is a bug in the router itself.
      this.#log.error({ err: error, agent_id: this.#session.agent.id, opcode }, 'router threw');
      result = Buffer.from(JSON.stringify(errorReply('INTERNAL', 'internal error in the router; the kernel log has the details')));
    }
    if (Buffer.isBuffer(result)) {
      if (this.#pending.length === 0) {
        this.#write(opcode, result);
        return;
      }
      this.#pending.push({ opcode, body: result });
      return;
    }
    const slot: PendingReply = { opcode, body: undefined };
    this.#pending.push(slot);
    result.then(
      (body) => this.#settle(slot, body),
      (error: unknown) => {
        this.#log.error({ err: error, agent_id: this.#session.agent.id, opcode }, 'reply could not be encoded');
        this.#settle(slot, Buffer.from(JSON.stringify(errorReply('INTERNAL', 'internal error while encoding the reply'))));
      },
    );
  }

  #settle(slot: PendingReply, body: Buffer): void {
    slot.body = body;
    if (this.#destroyed || this.#pending[0] !== slot) return;
    this.#socket.cork();
    let head = this.#pending[0];
    while (head?.body !== undefined) {
      this.#write(head.opcode, head.body);
      this.#pending.shift();
      head = this.#pending[0];
    }
    this.#socket.uncork();
    this.#maybeResume();
    this.#maybeEnd();
  }

  #write(opcode: number, body: Buffer): void {
    if (this.#destroyed || this.#ended) return;
    for (const piece of encodeFrame(this.#session.agent.id, opcode, body)) this.#socket.write(piece);
  }

  #overLimit(): boolean {
    return this.#pending.length >= this.#maxPipeline || this.#socket.writableLength >= this.#maxBuffered;
  }

  /** Pause or resume reading, and watch for a peer that stops mid-frame. */
  #updateFlow(): void {
    if (this.#destroyed) return;
    if (this.#overLimit() && !this.#stopReading) {
      if (!this.#paused) {
        this.#paused = true;
        this.#socket.pause();
      }
      this.#clearIdleTimer();
      return;
    }
    if (!this.#decoder.idle && !this.#stopReading && !this.#peerEnded) this.#armIdleTimer();
    else this.#clearIdleTimer();
    this.#maybeEnd();
  }

  #maybeResume(): void {
    if (this.#destroyed || this.#overLimit()) return;
    if (this.#paused) {
      this.#paused = false;
      // Frames that arrived before the pause are served first, then the socket flows again.
      this.#readFrames();
      if (!this.#paused && !this.#stopReading) this.#socket.resume();
    }
  }

  #armIdleTimer(): void {
    if (this.#idleTimer) {
      this.#idleTimer.refresh();
      return;
    }
    const timeoutMs = this.#context.options.frameIdleTimeoutMs;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      this.#log.info({ agent_id: this.#session.agent.id, buffered: this.#decoder.bufferedBytes }, 'connection idle mid-frame: dropped');
      this.#refuse(`connection idle for ${timeoutMs} ms in the middle of a frame`, 'idle_timeout');
    }, timeoutMs);
    this.#idleTimer.unref();
  }

  #clearIdleTimer(): void {
    if (this.#idleTimer) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }

  #badFrame(error: FrameError): void {
    this.#log.info({ agent_id: this.#session.agent.id, reason: error.message }, 'bad frame: closing connection');
    this.#refuse(error.message, 'bad_frame');
  }

  /** One BAD_FRAME reply after the replies already owed, then close. */
  #refuse(message: string, reason: 'bad_frame' | 'idle_timeout'): void {
    const body = Buffer.from(JSON.stringify(errorReply('BAD_FRAME', message)));
    if (this.#pending.length === 0) this.#write(BAD_FRAME_OPCODE, body);
    else this.#pending.push({ opcode: BAD_FRAME_OPCODE, body });
    this.#drain(reason);
  }

  #drain(reason: 'bad_frame' | 'idle_timeout' | 'shutdown'): void {
    this.#stopReadingFor(reason);
    this.#maybeEnd();
  }

  #stopReadingFor(reason: 'exit' | 'bad_frame' | 'idle_timeout' | 'shutdown'): void {
    if (this.#stopReading) return;
    this.#stopReading = true;
    this.#clearIdleTimer();
    this.#hooks.draining(reason);
  }

  #onEnd(): void {
    this.#peerEnded = true;
    if (!this.#stopReading) this.#hooks.draining('peer_ended');
    this.#clearIdleTimer();
    this.#maybeEnd();
    this.#probePeer();
  }

  /**
   * EOF alone cannot tell a half-close (replies still wanted) from a peer that closed
   * its socket, whose in-flight work (a long EXEC) would otherwise run on until its
   * reply hits EPIPE. On a Unix socket an empty write fails with EPIPE only in the
   * second case; the error then closes the connection and aborts the session's work.
   */
  #probePeer(): void {
    this.#probeTimer = undefined;
    if (this.#ended || this.#destroyed || this.#pending.length === 0) return;
    this.#socket.write(EMPTY);
    this.#probeTimer = setTimeout(() => this.#probePeer(), PEER_PROBE_MS);
    this.#probeTimer.unref();
  }

  /** Close our side once nothing more will be read and every reply owed is written. */
  #maybeEnd(): void {
    if (this.#ended || this.#destroyed || this.#pending.length > 0) return;
    const inputDone = this.#stopReading || (this.#peerEnded && !this.#paused);
    if (!inputDone) return;
    this.#ended = true;
    this.#socket.end();
    this.#graceTimer = setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS);
    this.#graceTimer.unref();
  }

  #onClose(): void {
    this.#destroyed = true;
    this.#clearIdleTimer();
    clearTimeout(this.#probeTimer);
    // Cleared, or it would keep the closed connection reachable for CLOSE_GRACE_MS.
    clearTimeout(this.#graceTimer);
    this.#pending = [];
    this.#hooks.closed();
  }
}
