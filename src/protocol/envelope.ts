/** The WebSocket JSON envelope of protocol.md §3. */
import { z } from 'zod';

export const RequestEnvelope = z.object({
  id: z.union([z.number(), z.string().max(128)], { error: 'expected "id" as a number or a string' }),
  op: z.union([z.string().max(64), z.number().int()], { error: 'expected "op" as an opcode name or number' }),
  payload: z.unknown().optional(),
});
export type RequestEnvelope = z.infer<typeof RequestEnvelope>;

export interface ReplyEnvelope {
  id: number | string | null;
  op: string;
  result: unknown;
}

export interface PushEnvelope {
  push: string;
  data: unknown;
}
