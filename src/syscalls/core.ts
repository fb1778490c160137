/** NOOP, HELLO and EXIT. */

import type { z } from 'zod';
import { defineSyscall } from '../kernel/syscall.js';
import { KernelError } from '../protocol/errors.js';
import type { ExitReply, HelloReply } from '../protocol/schemas/core.js';
import { ExitRequest, HelloRequest, PROTOCOL_VERSION } from '../protocol/schemas/core.js';
import { presentToken } from './tokens.js';

/** Echoes its payload: raw bytes on the socket, the JSON value over WebSocket. */
export const noop = defineSyscall({ name: 'NOOP', request: 'raw', handle: (payload) => payload });

export const hello = defineSyscall({
  name: 'HELLO',
  request: HelloRequest,
  handle: (request, session, kernel): z.output<typeof HelloReply> => {
    if (request.protocol_version !== undefined && request.protocol_version > PROTOCOL_VERSION) {
      throw new KernelError(
        'UNSUPPORTED_OPCODE',
        `protocol_version ${request.protocol_version} is newer than this kernel's (${PROTOCOL_VERSION})`,
      );
    }
    if (request.token !== undefined) presentToken(request.token, session, kernel);
    const { agent } = session;
    if (request.name !== undefined && agent.kind === 'client') agent.name = request.name;
    const { options } = kernel;
    return {
      success: true,
      protocol_version: PROTOCOL_VERSION,
      kernel_version: kernel.kernelVersion,
      agent_id: agent.id,
      name: agent.name,
      level: agent.level,
      admin: agent.admin,
      features: [...kernel.features()],
      limits: {
        max_payload: options.maxPayload,
        max_pipeline: options.maxPipeline,
        exec_max_timeout_s: options.exec.maxTimeoutS,
        exec_max_output_bytes: options.exec.maxOutputBytes,
        read_max_bytes: options.files.maxReadBytes,
      },
    };
  },
});

export const exit = defineSyscall({
  name: 'EXIT',
  request: ExitRequest,
  handle: (_request, session): z.output<typeof ExitReply> => {
    session.requestClose();
    return { success: true, goodbye: true, agent_id: session.agent.id };
  },
});
