/** The world network simulator (worlds.md §3): what the world engine imports. */
export { MockSpec, NetworkConfig, NetworkConfigError, type NetworkConfigInput, parseNetworkConfig } from './config.js';
export { MAX_EFFECTS, NetworkEffectsState } from './effects.js';
export { NetworkCounters, RequestLogEntry } from './log.js';
export { compilePattern } from './pattern.js';
export {
  NETWORK_STATE_VERSION,
  type NetworkDecision,
  type NetworkRequest,
  NetworkSimulator,
  type NetworkSimulatorOptions,
  NetworkSimulatorState,
  type Sleep,
  timerSleep,
  type WorldClock,
} from './simulator.js';
