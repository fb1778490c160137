import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

export interface LoggerConfig {
  level: string;
  /** A file to append to; stderr when absent. */
  file?: string | undefined;
}

/** Structured logs to stderr (or a file), so stdout stays for the CLI's own output. */
export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { pid: process.pid },
    // Secrets that may pass through a request never reach a log line.
    redact: {
      paths: ['token', '*.token', 'env', '*.env', 'headers.authorization', '*.headers.authorization', 'apiKey', '*.apiKey', '*.llm.apiKey'],
      censor: '[redacted]',
    },
  };
  const destination = config.file
    ? pino.destination({ dest: config.file, mkdir: true, sync: false })
    : pino.destination({ dest: 2, sync: false });
  return pino(options, destination);
}
