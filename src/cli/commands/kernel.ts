/** `agentos kernel`: run the kernel in the foreground until SIGINT or SIGTERM. */
import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ZodError } from 'zod';
import { startKernel } from '../../kernel/kernel.js';
import { KernelOptions, type KernelOptionsInput } from '../../kernel/options.js';
import { describeZodError } from '../../protocol/errors.js';
import { LEVELS } from '../../protocol/schemas/permissions.js';
import { readCliConfig } from '../config-file.js';
import { fail, out } from '../output.js';
import { readConfigOption, stopOnSignals } from '../server-command.js';
import { socketOption } from '../socket-option.js';

interface KernelFlags {
  socket?: string;
  dataDir?: string;
  httpPort?: number | 'off';
  level?: (typeof LEVELS)[number];
  config?: string;
  logLevel?: string;
  logFile?: string;
  maxPayload?: number;
  stateDurability?: 'process' | 'power';
  allowDegradedIsolation?: boolean;
  llmBaseUrl?: string;
  llmModel?: string;
  llmApiKeyEnv?: string;
  llmMaxConcurrency?: number;
  relay?: string;
  machineId?: string;
  machineTokenFile?: string;
  relayCa?: string;
  /** false with --no-tunnel. */
  tunnel?: boolean;
}

function port(value: string): number | 'off' {
  // Not null: commander replaces a parser's null with '', so "off" becomes null in the action.
  if (value === 'off') return 'off';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535, or "off"');
  return n;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

function bytes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a number of bytes above 0');
  return n;
}

function readConfig(path: string): Promise<KernelOptionsInput> {
  return readConfigOption<KernelOptionsInput>(path, KernelOptions.partial(), 'config');
}

/**
 * The tunnel's relay, machine id and token: the flags over `~/.agentos/config.yaml` over
 * the --config file's `tunnel`. The token is read from a file, never a flag (`ps` shows
 * every user a command line).
 */
async function tunnelOptions(flags: KernelFlags, fromFile: KernelOptionsInput['tunnel']): Promise<KernelOptionsInput['tunnel']> {
  if (flags.tunnel === false) return { ...fromFile, relayUrl: undefined, machineId: undefined, token: undefined };
  let config: Awaited<ReturnType<typeof readCliConfig>> = {};
  try {
    config = await readCliConfig();
  } catch (error) {
    fail((error as Error).message);
  }
  let token = config.machine?.token;
  if (flags.machineTokenFile !== undefined) {
    try {
      token = (await readFile(flags.machineTokenFile, 'utf8')).trim();
    } catch (error) {
      fail(`cannot read --machine-token-file ${flags.machineTokenFile}: ${(error as Error).message}`);
    }
    if (!token) fail(`--machine-token-file ${flags.machineTokenFile} is empty`);
  }
  const relayUrl = flags.relay ?? config.relay?.url;
  const machineId = flags.machineId ?? config.machine?.id;
  const tunnel = { ...fromFile };
  // The config's URL may be the relay's http(s) address (the fleet API shares its port): the tunnel speaks ws(s).
  if (relayUrl !== undefined) tunnel.relayUrl = relayUrl.replace(/^http(s?):/i, 'ws$1:');
  if (machineId !== undefined) tunnel.machineId = machineId;
  if (token !== undefined) tunnel.token = token;
  if (flags.relayCa !== undefined) tunnel.caFile = flags.relayCa;
  if (config.relay?.insecure !== undefined && tunnel.insecure === undefined) tunnel.insecure = config.relay.insecure;
  return tunnel;
}

export function registerKernelCommand(program: Command): void {
  program
    .command('kernel')
    .description('run the kernel in the foreground')
    .addOption(socketOption())
    .option('--data-dir <dir>', 'where the kernel keeps its state (default: $AGENTOS_DATA_DIR, then ~/.agentos/data)')
    .option('--http-port <port>', 'HTTP/WebSocket port; 0 = any free port, "off" = none (default 7391)', port)
    .addOption(new Option('--level <level>', 'permission level of direct connections (default standard)').choices(LEVELS))
    .option('--config <file>', 'YAML file of kernel options; flags override it')
    .addOption(
      new Option('--log-level <level>', 'log level (default info)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .option('--log-file <file>', 'write logs to this file instead of stderr')
    .option('--max-payload <bytes>', 'largest request payload (default 1048576)', bytes)
    .addOption(
      new Option(
        '--state-durability <mode>',
        'when a state write is acknowledged: "process" (survives kill -9 of the kernel) or "power" (fsync per write; default process)',
      ).choices(['process', 'power']),
    )
    .option('--allow-degraded-isolation', 'run sandboxed agents without bubblewrap (SPAWN reports it) instead of refusing them')
    .option('--llm-base-url <url>', 'OpenAI-compatible API root for THINK, e.g. http://127.0.0.1:11434/v1 (Ollama)')
    .option('--llm-model <name>', 'the model THINK uses when a request names none')
    // No flag takes the key itself: a command line is visible to every user in `ps`.
    .option('--llm-api-key-env <name>', 'environment variable holding the API key, e.g. OPENAI_API_KEY')
    .option('--llm-max-concurrency <n>', 'LLM calls in flight at once, across agents (default 4)', count)
    .option('--relay <url>', 'connect the tunnel to this relay at start (default: relay.url of ~/.agentos/config.yaml)')
    .option('--machine-id <id>', "this kernel's machine id at the relay (default: machine.id of the config)")
    .option('--machine-token-file <file>', 'file holding the machine token (default: machine.token of the config)')
    .option('--relay-ca <file>', 'PEM certificates to trust for a wss:// relay besides the system ones (a self-signed relay)')
    .option('--no-tunnel', 'do not connect to a relay at start, whatever the config says')
    .action(async (flags: KernelFlags) => {
      const fromFile = flags.config ? await readConfig(flags.config) : {};
      const input: KernelOptionsInput = { ...fromFile };
      if (flags.socket !== undefined) input.socketPath = flags.socket;
      if (flags.dataDir !== undefined) input.dataDir = flags.dataDir;
      if (flags.httpPort !== undefined) input.httpPort = flags.httpPort === 'off' ? null : flags.httpPort;
      if (flags.level !== undefined) input.defaultLevel = flags.level;
      if (flags.logLevel !== undefined) input.logLevel = flags.logLevel as KernelOptionsInput['logLevel'];
      if (flags.logFile !== undefined) input.logFile = flags.logFile;
      if (flags.maxPayload !== undefined) input.maxPayload = flags.maxPayload;
      if (flags.stateDurability !== undefined) input.stateDurability = flags.stateDurability;
      if (flags.allowDegradedIsolation) input.allowDegradedIsolation = true;
      const llm = { ...input.llm };
      if (flags.llmBaseUrl !== undefined) llm.baseUrl = flags.llmBaseUrl;
      if (flags.llmModel !== undefined) llm.model = flags.llmModel;
      if (flags.llmApiKeyEnv !== undefined) llm.apiKeyEnv = flags.llmApiKeyEnv;
      if (flags.llmMaxConcurrency !== undefined) llm.maxConcurrency = flags.llmMaxConcurrency;
      if (Object.keys(llm).length > 0) input.llm = llm;
      input.tunnel = await tunnelOptions(flags, input.tunnel);

      let kernel: Awaited<ReturnType<typeof startKernel>>;
      try {
        kernel = await startKernel(input);
      } catch (error) {
        if (error instanceof ZodError) fail(describeZodError(error, 'kernel option').message);
        fail((error as Error).message);
      }
      out(`agentos kernel ready socket=${kernel.socketPath} http=${kernel.httpUrl ?? 'off'}`);

      stopOnSignals((signal) => {
        kernel.log.info({ signal }, 'shutting down');
        return kernel.stop();
      }, 'shutdown');
    });
}
