import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  BusinessFailure,
  BusinessRejection,
  ConcurrencyConflictError,
  ConfigError,
  NotFoundError,
  SequenceError,
  StateError,
  StoreError,
  SubscriberFailure,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from '../../runtime/index.js';
import { toGrpcStatus } from '../../runtime/errors/to-grpc-status.js';

describe('toGrpcStatus, the one mapping from errors to gRPC status codes', () => {
  it.each([
    [new ValidationError('cover is missing'), status.INVALID_ARGUMENT],
    [new SequenceError('pages[0].num is 3, but the next sequence is 5'), status.FAILED_PRECONDITION],
    [new ConcurrencyConflictError('changed', 1, 2), status.ABORTED],
    [new NotFoundError('no business logic for "x"'), status.NOT_FOUND],
    [new StateError('dead letter #3 was skipped already'), status.FAILED_PRECONDITION],
    [new UnavailableError('business logic is unavailable'), status.UNAVAILABLE],
    [new BusinessRejection('insufficient funds', status.FAILED_PRECONDITION), status.FAILED_PRECONDITION],
    [new BusinessRejection('bad amount', status.INVALID_ARGUMENT), status.INVALID_ARGUMENT],
    [new BusinessFailure('business logic crashed'), status.INTERNAL],
    [new SubscriberFailure('projector "accounts" failed its Reset'), status.INTERNAL],
    [new ConfigError('bad config'), status.FAILED_PRECONDITION],
    [new StoreError('disk full'), status.INTERNAL],
    [new UnauthenticatedError('the admin service requires a token: none was sent'), status.UNAUTHENTICATED],
  ])('%s → %s', (error, code) => {
    expect(toGrpcStatus(error)).toEqual({ code, details: error.message, unexpected: false });
  });

  it('adds the hint to the details', () => {
    expect(toGrpcStatus(new ValidationError('too big', { hint: 'raise the limit' })).details).toBe(
      'too big (raise the limit)',
    );
  });

  it('answers INTERNAL for an error it does not know, and flags it as unexpected', () => {
    expect(toGrpcStatus(new TypeError('x is undefined'))).toEqual({
      code: status.INTERNAL,
      details: 'unexpected error: x is undefined',
      unexpected: true,
    });
  });
});
