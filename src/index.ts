/** AgentOS: the kernel, its SDK and its protocol. */
export { type Kernel, type KernelOptionsInput, startKernel } from './kernel/index.js';
export * as protocol from './protocol/index.js';
export { AgentOSClient, AgentOSError, type ConnectOptions } from './sdk/index.js';
