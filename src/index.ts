/** AgentOS: the kernel, its SDK and its protocol. */
export { type Kernel, startKernel, type KernelOptionsInput } from './kernel/index.js';
export { AgentOSClient, AgentOSError, type ConnectOptions } from './sdk/index.js';
export * as protocol from './protocol/index.js';
