/** How the client reaches a kernel: the Unix socket, a WebSocket, or in-process. */
export interface ClientTransport {
  /** A human-readable address, for errors. */
  readonly address: string;
  /**
   * One syscall. `payload` is JSON-encoded, except NOOP on the socket, which sends
   * Buffers as they are. Resolves to the reply (parsed JSON, or a Buffer for NOOP).
   */
  request(opcode: number, payload: unknown): Promise<unknown>;
  close(): Promise<void>;
}
