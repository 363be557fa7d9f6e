/**
 * evented's programmatic API: everything the CLI (or any other front end) may use. The runtime is usable
 * without the CLI: load a configuration, start the runtime, talk to it over gRPC.
 */
export {
  asWholeRuntime,
  startRuntime,
  type Runtime,
  type RuntimeOptions,
  type WholeRuntime,
} from './up/compose.js';
/** The roles a process may hold (`evented serve --role`). */
export { ROLES, type Role } from './config/roles.js';
/** `evented up` as a function: the ladder per concern, the user's processes, the runtime (see up/environment.ts). */
export {
  startEnvironment,
  type Environment,
  type EnvironmentEvent,
  type EnvironmentOptions,
  type ComponentState,
} from './up/environment.js';
/** The user's own services of evented.yaml `processes`, started as `evented up` starts them (`evented test` too). */
export { spawnUserProcess, waitUntilReady, logsFolder, type UserProcess } from './up/processes.js';
export { acceptsConnections } from './support/net.js';
/** What --store and --bus accept, for a caller that checks its flags before anything starts. */
export { STORE_FLAG, isStoreFlag, BUS_FLAG, isBusFlag } from './up/flags.js';
/** `evented serve --store/--bus/--port-offset`: the configuration with them applied. */
export { applyServeFlags, type ServeFlags } from './up/serve-flags.js';
export { groupAlive, isProcessAlive, signalGroup, signalProcess } from './support/signals.js';
/** How `evented down` ends, from another process, what an `evented up` started (see infra/stop-record.ts). */
export {
  endAllRecorded,
  endRecorded,
  recordedAlive,
  type SignalRecord,
  type StopRecord,
} from './infra/stop-record.js';
export { type Choice } from './infra/resolve.js';
export { configSchema, type ResolvedConfig, type UserConfig } from './config/schema.js';
export { readConfigFile, parseConfigText } from './config/sources/file.js';
/** The configuration in Consul KV: one key per section under `<prefix><name>/` (see sources/consul.ts). */
export {
  readConfigFromConsul,
  writeConfigToConsul,
  DEFAULT_CONSUL_URL,
  DEFAULT_CONSUL_PREFIX,
  type ConsulLocation,
  type ConsulConfigWrite,
  type KeyChange,
} from './config/sources/consul.js';
/** Whether a name may be an evented domain: letters, digits, '_', '.', '-', starting with a letter or digit. */
export { isValidDomainName } from './protocol/validate.js';
export * from './errors/index.js';
export { toGrpcStatus } from './errors/to-grpc-status.js';
export { callUnary, isServiceError } from './grpc/unary.js';
/** A domain's business logic over gRPC (evented.BusinessLogic), as the command handler calls it (`evented verify`). */
export { connectBusinessLogic, type BusinessLogic } from './command/business-logic.js';
export type { ReplayProgress } from './subscriber/replay.js';
/** `evented deploy kubernetes`: a project's manifests, rendered from its resolved configuration (pure). */
export {
  renderKubernetes,
  manifestsAsYaml,
  RENDERED_HEADER,
  type KubernetesManifests,
  type KubernetesObject,
  type RenderedFile,
} from './deploy/kubernetes.js';
