/**
 * How CLI commands reach a kernel: the socket from --socket / $AGENTOS_SOCKET, and the
 * admin token from the kernel's data directory when this user can read it (as
 * protocol.md §6 says the CLI does), falling back to an ordinary connection.
 */
import { Option } from 'commander';
import { readAdminToken } from '../kernel/admin-token.js';
import { defaultDataDir } from '../kernel/options.js';
import { AgentOSClient } from '../sdk/client.js';
import { AgentOSError } from '../sdk/errors.js';
import { socketPathFrom } from './socket-option.js';

export function dataDirOption(): Option {
  return new Option(
    '--data-dir <dir>',
    "the kernel's data directory, for its admin token (default: $AGENTOS_DATA_DIR, then ~/.agentos/data)",
  );
}

export interface ConnectFlags {
  socket?: string;
  dataDir?: string;
}

export async function connectCli(flags: ConnectFlags, name: string): Promise<AgentOSClient> {
  const socketPath = socketPathFrom(flags);
  const token = await readAdminToken(flags.dataDir ?? defaultDataDir());
  if (token !== undefined) {
    try {
      return await AgentOSClient.connect({ socketPath, name, token });
    } catch (error) {
      // A token from another (older) kernel: carry on as an ordinary client.
      if (!(error instanceof AgentOSError && error.code === 'PERMISSION_DENIED')) throw error;
      process.stderr.write(
        `agentos: the admin token in ${flags.dataDir ?? defaultDataDir()} is not this kernel's; continuing without it\n`,
      );
    }
  }
  return AgentOSClient.connect({ socketPath, name, token: null });
}
