/** The client over an in-process connection: a code-defined agent in the kernel's process. */
import type { InProcessConnection } from '../transports/inprocess.js';
import type { ClientTransport } from './transport.js';

export class InProcessTransport implements ClientTransport {
  readonly address = 'in-process';
  readonly #connection: InProcessConnection;

  constructor(connection: InProcessConnection) {
    this.#connection = connection;
  }

  request(opcode: number, payload: unknown): Promise<unknown> {
    return this.#connection.call(opcode, payload);
  }

  async close(): Promise<void> {
    this.#connection.close();
  }
}
