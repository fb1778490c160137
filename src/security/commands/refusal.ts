/** A command denial as the error a handler throws: PERMISSION_DENIED (the router audits it and emits SYSCALL_BLOCKED). */
import { KernelError } from '../../protocol/errors.js';
import { type CommandDenial, clipPart, denialMessage } from './policy.js';

/** `denied` in the reply: which list, which rule, which program, in which part of the command. */
export function commandRefusal(op: string, denial: CommandDenial): KernelError {
  const { list, rule, program, part, via } = denial;
  return new KernelError('PERMISSION_DENIED', denialMessage(op, denial), {
    denied: { list, rule, program, part: clipPart(part), via: [...via] },
  });
}
