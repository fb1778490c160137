export { type Kernel, type StartKernelDeps, startKernel } from './kernel.js';
export { createLogger, type Logger } from './logger.js';
export {
  DEFAULT_HTTP_PORT,
  DEFAULT_SOCKET_PATH,
  defaultDataDir,
  defaultSocketPath,
  KernelOptions,
  type KernelOptionsInput,
  parseKernelOptions,
} from './options.js';
