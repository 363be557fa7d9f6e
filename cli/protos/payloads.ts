import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  create,
  createFileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescMessage,
  type FileRegistry,
  type JsonValue,
} from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { loadSync } from '@grpc/proto-loader';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import { CliError, UsageError } from '../errors.js';

/**
 * The project's own message types, read from its .proto files (under `proto/`, evented's contract left out),
 * so that the CLI can show payloads as JSON (`tail`) and build them from JSON (`send`), with proto3's JSON
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
}

const TYPE_URL_PREFIX = 'type.googleapis.com/';
/** Folders of .proto files that are contracts rather than the project's own types. */
const SKIPPED = new Set(['evented', 'google', 'grpc', 'node_modules', '.git']);

const protoFiles = (dir: string, root = dir): string[] => {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return SKIPPED.has(name) ? [] : protoFiles(path, root);
    return name.endsWith('.proto') ? [relative(root, path)] : [];
  });
};

/** protoc's JSON name of a field ("to_account" → "toAccount"). */
const jsonNameOf = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** proto-loader leaves fields' JSON names out of its descriptors; protoc always sets them. */
const withJsonNames = (message: DescriptorProto): void => {
  for (const field of message.field) if (!field.jsonName) field.jsonName = jsonNameOf(field.name);
  message.nestedType.forEach(withJsonNames);
};

const registryOf = (protoDir: string, files: string[]): FileRegistry => {
  let definitions: ReturnType<typeof loadSync>;
  try {
    definitions = loadSync(files, { includeDirs: [protoDir] });
  } catch (err) {
    throw new CliError(
      `cannot read the project's .proto files in ${protoDir}: ${(err as Error).message}`,
      'fix the .proto file, or run the command from another folder',
    );
  }
  const descriptors = new Map<string, ReturnType<typeof fromBinary<typeof FileDescriptorProtoSchema>>>();
  for (const definition of Object.values(definitions)) {
    for (const bytes of (definition as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      file.messageType.forEach(withJsonNames);
      descriptors.set(file.name, file);
    }
  }
  return createFileRegistry(create(FileDescriptorSetSchema, { file: [...descriptors.values()] }));
};

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
};

export const loadPayloadTypes = (projectDir: string): PayloadTypes => {
  const protoDir = join(projectDir, 'proto');
  const files = protoFiles(protoDir);
  if (files.length === 0) return noPayloadTypes;
  const registry = registryOf(protoDir, files);
  const messages: DescMessage[] = [...registry].filter(
    (type): type is DescMessage => type.kind === 'message' && !type.typeName.startsWith('google.'),
  );

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
    decode(any) {
      const schema = registry.getMessage(any.typeUrl.slice(any.typeUrl.lastIndexOf('/') + 1));
      if (!schema) return undefined;
      try {
        return toJson(schema, fromBinary(schema, any.value)) as JsonValue;
      } catch {
        return undefined;
      }
    },
  };
};
