/** The wire contract (generated from proto/evented/evented.proto) and small helpers around it. */
export * from './gen/evented/evented.js';
export { Any } from './gen/google/protobuf/any.js';
export { Timestamp } from './gen/google/protobuf/timestamp.js';
export { Empty } from './gen/google/protobuf/empty.js';
export * from './uuid.js';
export * from './timestamp.js';
export * from './cover.js';
