import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  create,
  createFileRegistry,
  fromBinary,
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
import { ConfigError } from '../errors/index.js';
import type { Any } from './gen/google/protobuf/any.js';

/**
 * The project's own message types, read from its .proto files (under `proto/`, evented's contract left out), so
 * that payloads can be shown as JSON with proto3's JSON mapping: by the CLI (`tail`, `dlq`, and `send`, which
 * also builds them: cli/protos/payloads.ts) and by the web console. The runtime never needs them to work: without
 * .proto files, payloads show as type and size.
 */
/** What turns a packed payload into JSON (the registry below, and the CLI's PayloadTypes). */
export interface PayloadDecoder {
  /** A packed Any → JSON, or undefined when its type is not among the project's (or its bytes do not parse). */
  decode(any: Any): JsonValue | undefined;
}

export interface PayloadRegistry extends PayloadDecoder {
  /** Where the .proto files were read. */
  readonly protoDir: string;
  readonly registry: FileRegistry;
  /** The project's message types (the well-known google.* ones left out). */
  readonly messages: readonly DescMessage[];
}

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** The full type name of a type URL ("type.googleapis.com/account.v1.Deposited" → "account.v1.Deposited"). */
export const typeNameOf = (typeUrl: string): string => typeUrl.slice(typeUrl.lastIndexOf('/') + 1);

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
    definitions = loadSync(files, { includeDirs: [protoDir], keepCase: true });
  } catch (err) {
    throw new ConfigError(
      `cannot read the project's .proto files in ${protoDir}: ${(err as Error).message}`,
      { hint: 'fix the .proto file, or run the command from another folder' },
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

/**
 * The message types of the .proto files under `projectDir`/proto; undefined when there are none. A .proto file
 * that does not parse is a ConfigError naming it.
 */
export const loadPayloadRegistry = (projectDir: string): PayloadRegistry | undefined => {
  const protoDir = join(projectDir, 'proto');
  const files = protoFiles(protoDir);
  if (files.length === 0) return undefined;
  const registry = registryOf(protoDir, files);
  return {
    protoDir,
    registry,
    messages: [...registry].filter(
      (type): type is DescMessage => type.kind === 'message' && !type.typeName.startsWith('google.'),
    ),
    decode(any) {
      const schema = registry.getMessage(typeNameOf(any.typeUrl));
      if (!schema) return undefined;
      try {
        return toJson(schema, fromBinary(schema, any.value)) as JsonValue;
      } catch {
        return undefined;
      }
    },
  };
};
