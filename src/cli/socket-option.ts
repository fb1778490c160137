import { Option } from 'commander';
import { defaultSocketPath } from '../kernel/options.js';

/** Every command that talks to a kernel takes `--socket PATH`. */
export function socketOption(): Option {
  return new Option('--socket <path>', 'kernel socket (default: $AGENTOS_SOCKET, then /tmp/agentos.sock)');
}

export function socketPathFrom(options: { socket?: string }): string {
  return options.socket ?? defaultSocketPath();
}
