import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from '@grpc/grpc-js';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Calls a generated grpc-js unary method as a promise, with a deadline in milliseconds. */
export const callUnary = <Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  options: { timeoutMs: number; metadata?: Metadata },
): Promise<Res> =>
  new Promise((resolve, reject) => {
    method(
      request,
      options.metadata ?? new GrpcMetadata(),
      { deadline: Date.now() + options.timeoutMs },
      (error, response) => (error ? reject(error) : resolve(response)),
    );
  });

export const isServiceError = (err: unknown): err is ServiceError =>
  typeof err === 'object' &&
  err !== null &&
  'code' in err &&
  typeof (err as ServiceError).code === 'number' &&
  'details' in err;
