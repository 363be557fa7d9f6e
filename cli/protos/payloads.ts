import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import { loadPayloadRegistry, TYPE_URL_PREFIX, typeNameOf } from '../../runtime/protocol/payload-types.js';
import { UsageError } from '../errors.js';

/**
 * The project's own message types (runtime/protocol/payload-types.ts reads them from its .proto files), as the
 * CLI uses them: to show payloads as JSON (`tail`, `dlq`) and to build them from JSON (`send`), with proto3's JSON
 * mapping. Without .proto files the CLI still works: payloads show as type and size.
 */
export interface PayloadTypes {
  /** How many message types the project's .proto files define. */
  readonly count: number;
  /** A full name ("account.v1.Deposit") from a full or short ("Deposit") one. */
  resolve(name: string): string;
  /** JSON → a packed Any; a clear error when the JSON does not fit the type. */
  encode(typeName: string, json: JsonValue): Any;
  /** A packed Any → JSON, or undefined when the type is not among the project's. */
  decode(any: Any): JsonValue | undefined;
  /** Like decode, with the fields at their default value written too (proto3's JSON leaves them out). */
  decodeWhole(any: Any): JsonValue | undefined;
  /** The message type of a full name, or undefined: what a spec's payloads are checked against. */
  schema(typeName: string): DescMessage | undefined;
  /** The short names of the project's message types, sorted (a hint for a name that is not among them). */
  readonly shortNames: readonly string[];
}

export const noPayloadTypes: PayloadTypes = {
  count: 0,
  resolve: (name) => {
    throw new UsageError(
      `cannot build a ${name}: no .proto files found in the project's proto/ folder`,
      'run the command in the project folder (the one holding proto/), or pass --dir',
    );
  },
  encode: (typeName) => noPayloadTypes.resolve(typeName) as never,
  decode: () => undefined,
  decodeWhole: () => undefined,
  schema: () => undefined,
  shortNames: [],
};

export const loadPayloadTypes = (projectDir: string): PayloadTypes => {
  const loaded = loadPayloadRegistry(projectDir);
  if (loaded === undefined) return noPayloadTypes;
  const { registry, messages, protoDir } = loaded;

  const schemaOf = (typeName: string): DescMessage => {
    const schema = registry.getMessage(typeName);
    if (!schema) throw new UsageError(`no message type ${typeName} in ${protoDir}`);
    return schema;
  };

  return {
    count: messages.length,
    resolve(name) {
      if (registry.getMessage(name)) return name;
      const matches = messages.filter((type) => type.name === name);
      if (matches.length === 1) return matches[0]!.typeName;
      if (matches.length > 1) {
        throw new UsageError(
          `${name} is ambiguous: ${matches.map((type) => type.typeName).join(', ')}`,
          'give the full name',
        );
      }
      const known = messages.map((type) => type.name).join(', ');
      throw new UsageError(`no message type named ${name} in ${protoDir}`, `known types: ${known}`);
    },
    encode(typeName, json) {
      const schema = schemaOf(typeName);
      try {
        return { typeUrl: TYPE_URL_PREFIX + typeName, value: toBinary(schema, fromJson(schema, json)) };
      } catch (err) {
        throw new UsageError(`the JSON does not fit ${typeName}: ${(err as Error).message}`);
      }
    },
    decode: (any) => loaded.decode(any),
    decodeWhole(any) {
      const schema = registry.getMessage(typeNameOf(any.typeUrl));
      if (!schema) return undefined;
      try {
        return toJson(schema, fromBinary(schema, any.value), { alwaysEmitImplicit: true }) as JsonValue;
      } catch {
        return undefined;
      }
    },
    schema: (typeName) => registry.getMessage(typeName),
    shortNames: [...new Set(messages.map((type) => type.name))].sort(),
  };
};
