import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';

/**
 * proto/evented/evented.proto must stay wire-compatible with the original evented: every message, field
 * number and type, service and method below is the original's. New fields and services may be added; none of
 * these may change.
 */
const original: Record<string, Record<string, [number, string]>> = {
  UUID: { value: [1, 'TYPE_BYTES'] },
  Cover: { root: [1, 'TYPE_MESSAGE'], domain: [2, 'TYPE_STRING'] },
  EventPage: {
    num: [1, 'TYPE_UINT32'],
    force: [2, 'TYPE_BOOL'],
    createdAt: [3, 'TYPE_MESSAGE'],
    Event: [4, 'TYPE_MESSAGE'],
    synchronous: [5, 'TYPE_BOOL'],
  },
  Snapshot: { sequence: [2, 'TYPE_UINT32'], state: [3, 'TYPE_MESSAGE'] },
  EventBook: { cover: [1, 'TYPE_MESSAGE'], snapshot: [2, 'TYPE_MESSAGE'], pages: [3, 'TYPE_MESSAGE'] },
  Projection: {
    cover: [1, 'TYPE_MESSAGE'],
    projector: [2, 'TYPE_STRING'],
    sequence: [3, 'TYPE_UINT32'],
    projection: [4, 'TYPE_MESSAGE'],
  },
  SynchronousProcessingResponse: { books: [1, 'TYPE_MESSAGE'], projections: [3, 'TYPE_MESSAGE'] },
  CommandPage: { sequence: [1, 'TYPE_UINT32'], synchronous: [2, 'TYPE_BOOL'], command: [3, 'TYPE_MESSAGE'] },
  CommandBook: { cover: [1, 'TYPE_MESSAGE'], pages: [2, 'TYPE_MESSAGE'] },
  ContextualCommand: { events: [1, 'TYPE_MESSAGE'], command: [2, 'TYPE_MESSAGE'] },
  Query: {
    domain: [1, 'TYPE_STRING'],
    root: [2, 'TYPE_MESSAGE'],
    lowerBound: [3, 'TYPE_UINT32'],
    upperBound: [4, 'TYPE_UINT32'],
  },
  AggregateRoot: { domain: [1, 'TYPE_STRING'], root: [2, 'TYPE_MESSAGE'] },
  TestByteArray: { bytes: [1, 'TYPE_BYTES'] },
};

const services: Record<string, Record<string, [string, string, boolean, boolean]>> = {
  BusinessLogic: { Handle: ['ContextualCommand', 'EventBook', false, false] },
  BusinessCoordinator: {
    Handle: ['CommandBook', 'SynchronousProcessingResponse', false, false],
    Record: ['EventBook', 'SynchronousProcessingResponse', false, false],
  },
  ProjectorCoordinator: {
    HandleSync: ['EventBook', 'Projection', false, false],
    Handle: ['EventBook', 'Empty', false, false],
  },
  Projector: {
    Handle: ['EventBook', 'Empty', false, false],
    HandleSync: ['EventBook', 'Projection', false, false],
  },
  EventQuery: {
    GetEvents: ['Query', 'EventBook', false, true],
    Synchronize: ['Query', 'EventBook', true, true],
    GetAggregateRoots: ['Empty', 'AggregateRoot', false, true],
  },
  SagaCoordinator: {
    Handle: ['EventBook', 'Empty', false, false],
    HandleSync: ['EventBook', 'SynchronousProcessingResponse', false, false],
  },
  Saga: {
    Handle: ['EventBook', 'Empty', false, false],
    HandleSync: ['EventBook', 'SynchronousProcessingResponse', false, false],
  },
};

interface FieldDescriptor {
  name: string;
  number: number;
  type: string;
}
interface MethodDefinition {
  requestStream: boolean;
  responseStream: boolean;
  requestType: { type: { name: string } };
  responseType: { type: { name: string } };
}

const definition = loadSync(join(repoRoot, 'proto/evented/evented.proto'), {
  includeDirs: [join(repoRoot, 'proto')],
});

describe('the wire contract (proto/evented/evented.proto)', () => {
  it('keeps package evented', () => {
    expect(Object.keys(definition).filter((name) => name.startsWith('evented.'))).not.toHaveLength(0);
  });

  for (const [message, fields] of Object.entries(original)) {
    it(`keeps every field of ${message} with its number and type`, () => {
      const type = definition[`evented.${message}`] as { type: { field: FieldDescriptor[] } } | undefined;
      expect(type, `evented.${message} is missing`).toBeDefined();
      const actual = Object.fromEntries(type!.type.field.map((f) => [f.name, [f.number, f.type]]));
      for (const [field, expected] of Object.entries(fields))
        expect(actual[field], `${message}.${field}`).toEqual(expected);
    });
  }

  for (const [service, methods] of Object.entries(services)) {
    it(`keeps every method of ${service} with its request, response and streaming`, () => {
      const methodsOf = definition[`evented.${service}`] as Record<string, MethodDefinition> | undefined;
      expect(methodsOf, `evented.${service} is missing`).toBeDefined();
      for (const [method, [request, response, clientStream, serverStream]] of Object.entries(methods)) {
        const actual = methodsOf![method];
        expect(actual, `${service}.${method}`).toBeDefined();
        expect([actual!.requestType.type.name, actual!.responseType.type.name]).toEqual([request, response]);
        expect([actual!.requestStream, actual!.responseStream]).toEqual([clientStream, serverStream]);
      }
    });
  }
});
