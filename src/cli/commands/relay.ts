/** `agentos relay`: run the relay (docs/relay.md §10) in the foreground until SIGINT or SIGTERM. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ZodError } from 'zod';
import { describeZodError } from '../../protocol/errors.js';
import { RelayLimits, type RelayLimitsInput } from '../../relay/protocol/limits.js';
import { LOG_LEVELS, type RelayOptionsInput } from '../../relay/server/options.js';
import { type RelayServer, startRelay } from '../../relay/server/relay.js';
import { fail, out } from '../output.js';
import { readConfigOption, stopOnSignals } from '../server-command.js';

interface RelayFlags {
  host?: string;
  port?: number;
  dataDir?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure?: boolean;
  config?: string;
  logLevel?: (typeof LOG_LEVELS)[number];
  logFile?: string;
  json?: boolean;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

/** The RelayLimits keys from a YAML file. */
function readLimits(path: string): Promise<RelayLimitsInput> {
  return readConfigOption<RelayLimitsInput>(path, RelayLimits, 'relay limit');
}

export function registerRelayCommand(program: Command): void {
  program
    .command('relay')
    .description('run the relay for remote agents and kernels behind NAT, with the fleet REST API')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port of the WebSocket endpoints and the REST API; 0 = any free port (default 7700)', port)
    .option('--data-dir <dir>', 'where relay.db and admin.token live (default: $AGENTOS_RELAY_DATA_DIR, then ~/.agentos/relay)')
    .option('--tls-cert <file>', 'PEM certificate: serve https and wss (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--insecure', 'allow plain ws on a non-loopback interface (tokens cross the network in clear)')
    .option('--config <file>', 'YAML file of relay limits (docs/relay.md §8)')
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices(LOG_LEVELS))
    .option('--log-file <file>', 'write logs to this file instead of stderr')
    .option('--json', 'print one JSON line {url, http_url, admin_token_file} when ready')
    .action(async (flags: RelayFlags) => {
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) fail('--tls-cert and --tls-key go together');
      const input: RelayOptionsInput = {
        dataDir: flags.dataDir ?? process.env.AGENTOS_RELAY_DATA_DIR ?? join(homedir(), '.agentos', 'relay'),
      };
      if (flags.host !== undefined) input.host = flags.host;
      if (flags.port !== undefined) input.port = flags.port;
      if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) input.tls = { certFile: flags.tlsCert, keyFile: flags.tlsKey };
      if (flags.insecure) input.insecure = true;
      if (flags.config !== undefined) input.limits = await readLimits(flags.config);
      if (flags.logLevel !== undefined) input.logLevel = flags.logLevel;
      if (flags.logFile !== undefined) input.logFile = flags.logFile;

      let relay: RelayServer;
      try {
        relay = await startRelay(input);
      } catch (error) {
        if (error instanceof ZodError) fail(describeZodError(error, 'relay option').message);
        fail((error as Error).message);
      }
      if (flags.json) {
        out(JSON.stringify({ url: relay.url, http_url: relay.httpUrl, admin_token_file: relay.adminTokenFile }));
      } else {
        out(`agentos relay ready`);
        out(`  kernels and agents  ${relay.url}/kernel  ${relay.url}/agent`);
        out(`  fleet API           ${relay.httpUrl}/v1`);
        out(`  admin token file    ${relay.adminTokenFile}`);
      }

      stopOnSignals(() => relay.close(), 'relay shutdown');
    });
}
