/** OTP-style supervision, the pure layer: specs, restart decisions, intensity and backoff. No I/O, no timers. */
export { BackoffState, backoffDelay, baseDelay, type Random } from './backoff.js';
export { affected, type RestartPlan, restartPlan, shouldRestart } from './decisions.js';
export { ExitReason, exitReasonOf, type ObservedExit } from './exit-reason.js';
export { type IntensityVerdict, RestartIntensity } from './intensity.js';
export {
  AutoShutdown,
  Backoff,
  type BackoffInput,
  backoffOf,
  ChildSpec,
  type ChildSpecInput,
  DEFAULT_WORKER_SHUTDOWN_MS,
  flagsFromSpawn,
  RestartPolicy,
  RestartType,
  restartPolicyFromType,
  restartTypeFromPolicy,
  Shutdown,
  SpawnRestartLimits,
  type SpawnRestartLimitsInput,
  Strategy,
  SupervisorFlags,
  type SupervisorFlagsInput,
  SupervisorSpec,
  type SupervisorSpecInput,
  shutdownOf,
} from './spec.js';
