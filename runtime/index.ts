/**
 * evented's programmatic API: everything the CLI (or any other front end) may use. The runtime is usable
 * without the CLI: load a configuration, start the runtime, talk to it over gRPC.
 */
export { startRuntime, type Runtime, type RuntimeOptions } from './up/compose.js';
export { configSchema, type ResolvedConfig, type UserConfig } from './config/schema.js';
export { readConfigFile, parseConfigText } from './config/sources/file.js';
/** Whether a name may be an evented domain: letters, digits, '_', '.', '-', starting with a letter or digit. */
export { isValidDomainName } from './protocol/validate.js';
export * from './errors/index.js';
export { toGrpcStatus } from './errors/to-grpc-status.js';
