/**
 * Why a token was refused, as the peer is told (docs/relay.md §2). Unknown, forged,
 * malformed, wrong-kind and wrong-machine kernel tokens share one code and one text, so a
 * prober learns nothing; TOKEN_EXPIRED and TOKEN_REVOKED are only said of a token that
 * matched.
 */
import type { RelayErrorCode } from '../protocol/schemas.js';
import type { VerifyFailure } from '../tokens/schema.js';

export interface Refusal {
  code: RelayErrorCode;
  error: string;
}

export function kernelRefusal(reason: VerifyFailure, machineId: string): Refusal {
  switch (reason) {
    case 'expired':
      return { code: 'TOKEN_EXPIRED', error: `the token for machine "${machineId}" has expired` };
    case 'revoked':
      return { code: 'TOKEN_REVOKED', error: `the token for machine "${machineId}" was revoked` };
    default:
      return { code: 'AUTH_FAILED', error: `unknown token for machine "${machineId}"` };
  }
}

export function agentRefusal(reason: VerifyFailure, machineId: string): Refusal {
  switch (reason) {
    case 'expired':
      return { code: 'TOKEN_EXPIRED', error: 'the agent token has expired' };
    case 'revoked':
      return { code: 'TOKEN_REVOKED', error: 'the agent token was revoked' };
    case 'wrong_machine':
      return { code: 'FORBIDDEN', error: `token is not scoped to machine "${machineId}"` };
    default:
      return { code: 'AUTH_FAILED', error: 'unknown agent token' };
  }
}
