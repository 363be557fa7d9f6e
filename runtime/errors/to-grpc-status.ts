import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { isEventedError, type ErrorCode, BusinessRejection, messageOf } from './index.js';

/** The only mapping from evented errors to gRPC status codes. */
const statusByCode: Record<ErrorCode, Status> = {
  EVENTED_INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  EVENTED_SEQUENCE: Status.FAILED_PRECONDITION,
  EVENTED_CONCURRENCY_CONFLICT: Status.ABORTED,
  EVENTED_NOT_FOUND: Status.NOT_FOUND,
  EVENTED_STATE: Status.FAILED_PRECONDITION,
  EVENTED_UNAVAILABLE: Status.UNAVAILABLE,
  EVENTED_BUSINESS_REJECTION: Status.UNKNOWN, // replaced by the rejection's own code
  EVENTED_BUSINESS_FAILURE: Status.INTERNAL,
  EVENTED_SUBSCRIBER_FAILURE: Status.INTERNAL,
  EVENTED_CONFIG: Status.FAILED_PRECONDITION,
  EVENTED_STORE: Status.INTERNAL,
  EVENTED_UNAUTHENTICATED: Status.UNAUTHENTICATED,
};

export interface GrpcStatus {
  code: Status;
  details: string;
  /** True when the error is not one evented knows: a bug, logged with its stack. */
  unexpected: boolean;
}

export const toGrpcStatus = (err: unknown): GrpcStatus => {
  if (err instanceof BusinessRejection)
    return { code: err.grpcCode, details: err.message, unexpected: false };
  if (isEventedError(err)) {
    const details = err.hint ? `${err.message} (${err.hint})` : err.message;
    return { code: statusByCode[err.code], details, unexpected: false };
  }
  return { code: Status.INTERNAL, details: `unexpected error: ${messageOf(err)}`, unexpected: true };
};

/** A ServiceError for grpc-js callbacks and stream.destroy(), with the evented error code in metadata. */
export const toServiceError = (err: unknown): Partial<ServiceError> => {
  const { code, details } = toGrpcStatus(err);
  const metadata = new Metadata();
  if (isEventedError(err)) metadata.set('evented-error-code', err.code);
  return { code, details, metadata };
};
