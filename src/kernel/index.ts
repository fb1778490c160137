export { type Kernel, startKernel, type StartKernelDeps } from './kernel.js';
export { DEFAULT_HTTP_PORT, DEFAULT_SOCKET_PATH, defaultDataDir, defaultSocketPath, KernelOptions, type KernelOptionsInput, parseKernelOptions } from './options.js';
export { createLogger, type Logger } from './logger.js';
