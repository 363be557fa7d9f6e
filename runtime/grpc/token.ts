import { createHash, timingSafeEqual } from 'node:crypto';
import {
  ServerInterceptingCall,
  type Metadata,
  type ServerInterceptor,
  type StatusObject,
} from '@grpc/grpc-js';
import { UnauthenticatedError } from '../errors/index.js';
import { toServiceError } from '../errors/to-grpc-status.js';
import { TOKEN_METADATA } from './client-credentials.js';

/**
 * The token a server requires of every call (the admin service, the projector and saga coordinators): gRPC
 * metadata `authorization: Bearer TOKEN`, compared in constant time. A call without it, or with another token, is
 * answered UNAUTHENTICATED before any handler sees it. grpc.health.v1 stays open, for probes and `evented status`.
 */

const HEALTH = '/grpc.health.v1.Health/';

/** What the CLI and other clients are told to do, in every refusal. */
const HOW =
  'send the runtime’s token as gRPC metadata "authorization: Bearer TOKEN" (the CLI: --token-file FILE or EVENTED_TOKEN)';

/** Digests of equal length, so that neither the comparison's time nor its length tells anything of the token. */
const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

const bearerOf = (metadata: Metadata): string | undefined => {
  const [value] = metadata.get(TOKEN_METADATA);
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(value.trim());
  return match?.[1];
};

/** The refusal for `metadata`, or undefined when it carries the token. */
export const checkToken = (
  expected: Buffer,
  metadata: Metadata,
  component: string,
): UnauthenticatedError | undefined => {
  const sent = bearerOf(metadata);
  if (sent === undefined) {
    return new UnauthenticatedError(`the ${component} requires a token: none was sent`, { hint: HOW });
  }
  if (!timingSafeEqual(digest(sent), expected)) {
    return new UnauthenticatedError(`the ${component} refused the token sent: it is not this runtime’s`, {
      hint: HOW,
    });
  }
  return undefined;
};

/** A server interceptor that requires `token` of every call but health checks. */
export const requireToken = (token: string, component: string): ServerInterceptor => {
  const expected = digest(token);
  return (method, call) => {
    if (method.path.startsWith(HEALTH)) return new ServerInterceptingCall(call);
    const intercepting: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            const refusal = checkToken(expected, metadata, component);
            // Not forwarded: the handler never starts, and what the client sends after is dropped.
            if (refusal === undefined) forward(metadata);
            else intercepting.sendStatus(toServiceError(refusal) as StatusObject);
          },
        }),
    });
    return intercepting;
  };
};
