import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import {
  Server as GrpcServer,
  ServerCredentials,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { afterAll } from 'vitest';

/**
 * OTLP trace receivers on loopback, over HTTP or gRPC. The HTTP one (`POST /v1/traces`, binary protobuf), as a collector would be: it
 * decodes each export with OTLP's published schema, the protobufjs module generated from opentelemetry-proto
 * that @opentelemetry/otlp-transformer 0.205 ships (installed as the dev dependency `otlp-proto-root`), and keeps
 * the spans with their process's resource attributes.
 */

interface KeyValue {
  key: string;
  value?: {
    stringValue?: string;
    boolValue?: boolean;
    intValue?: number | string | { toString(): string };
    doubleValue?: number;
  };
}

interface DecodedSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId?: Uint8Array;
  name: string;
  kind: number;
  attributes?: KeyValue[];
  links?: { traceId: Uint8Array; spanId: Uint8Array }[];
  status?: { code?: number; message?: string };
}

interface DecodedRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: DecodedSpan[] }[];
  }[];
}

interface MessageType<T> {
  decode(bytes: Uint8Array): T;
  encode(message: object): { finish(): Uint8Array };
}

const generated = createRequire(import.meta.url)('otlp-proto-root/build/src/generated/root.js') as {
  opentelemetry: {
    proto: {
      collector: {
        trace: {
          v1: {
            ExportTraceServiceRequest: MessageType<DecodedRequest>;
            ExportTraceServiceResponse: MessageType<object>;
          };
        };
      };
    };
  };
};
const { ExportTraceServiceRequest, ExportTraceServiceResponse } =
  generated.opentelemetry.proto.collector.trace.v1;

/** A span as received: ids in hex, attributes as plain values, and its process's resource attributes. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
}

const hex = (bytes: Uint8Array | undefined): string => (bytes ? Buffer.from(bytes).toString('hex') : '');

const plain = (attributes: KeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries(
    (attributes ?? []).map(({ key, value }) => [
      key,
      value?.stringValue ??
        value?.boolValue ??
        (value?.intValue === undefined ? undefined : Number(value.intValue.toString())) ??
        value?.doubleValue,
    ]),
  );

export interface OtlpReceiver {
  /** The base endpoint, for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds /v1/traces). */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Export requests received, and those it could not decode (a test expects none). */
  readonly requests: number;
  readonly undecodable: string[];
  close(): Promise<void>;
}

/** Adds the spans of one export request to `spans`. */
const collect = (decoded: DecodedRequest, spans: ReceivedSpan[]): void => {
  for (const resourceSpans of decoded.resourceSpans ?? []) {
    const resource = plain(resourceSpans.resource?.attributes);
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name,
          kind: span.kind,
          attributes: plain(span.attributes),
          resource,
          links: (span.links ?? []).map((link) => ({ traceId: hex(link.traceId), spanId: hex(link.spanId) })),
          status: { code: span.status?.code ?? 0, message: span.status?.message ?? '' },
        });
      }
    }
  }
};

/** OTLP/HTTP: `POST /v1/traces` with a binary protobuf body (gzip or not). */
export const startOtlpReceiver = async (): Promise<OtlpReceiver> => {
  const spans: ReceivedSpan[] = [];
  const undecodable: string[] = [];
  let requests = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      requests += 1;
      try {
        let body = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        collect(ExportTraceServiceRequest.decode(body), spans);
        response
          .writeHead(200, { 'content-type': 'application/x-protobuf' })
          .end(Buffer.from(ExportTraceServiceResponse.encode({}).finish()));
      } catch (err) {
        undecodable.push((err as Error).message);
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  afterAll(close);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    get requests() {
      return requests;
    },
    undecodable,
    close,
  };
};

/** OTLP/gRPC: opentelemetry.proto.collector.trace.v1.TraceService/Export. */
export const startOtlpGrpcReceiver = async (): Promise<OtlpReceiver> => {
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  const encode =
    <T extends object>(type: MessageType<T>) =>
    (message: T): Buffer =>
      Buffer.from(type.encode(message).finish());
  const server = new GrpcServer();
  server.addService(
    {
      export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: encode(ExportTraceServiceRequest),
        requestDeserialize: (bytes: Buffer) => ExportTraceServiceRequest.decode(bytes),
        responseSerialize: encode(ExportTraceServiceResponse),
        responseDeserialize: (bytes: Buffer) => ExportTraceServiceResponse.decode(bytes),
      },
    },
    {
      export: (call: ServerUnaryCall<DecodedRequest, object>, callback: sendUnaryData<object>) => {
        requests += 1;
        collect(call.request, spans);
        callback(null, {});
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  const close = () => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  afterAll(close);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    get requests() {
      return requests;
    },
    undecodable: [],
    close,
  };
};
