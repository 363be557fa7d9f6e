import { status as Status } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthClient,
} from '../protocol/gen/grpc/health/v1/health.js';
import { callUnary, isServiceError } from './unary.js';
import { channelCredentials, type ClientTls } from './client-credentials.js';

/**
 * Asks a gRPC server how it is, with grpc.health.v1 Check — what `evented status` reports for the runtime's own
 * servers and for every user service (business logic, projectors, sagas), instead of a TCP connect, which a
 * server that is shutting down or stuck still accepts.
 *
 * - SERVING: `ok`.
 * - NOT_SERVING (or UNKNOWN): `not serving`, unhealthy: the service itself says it cannot take calls.
 * - No health service (UNIMPLEMENTED): `ok`, with "no health service" said: something speaks gRPC there and
 *   answered, which is all that can be known; the templates serve grpc.health.v1 so that more can be.
 * - The overall service "" unknown to its health service (NOT_FOUND): asked again for `service` by name.
 * - No answer (UNAVAILABLE, DEADLINE_EXCEEDED): `unreachable`. Any other error: `failing`, with the error.
 */

export interface Health {
  state: 'ok' | 'not serving' | 'unreachable' | 'failing';
  detail: string;
}

const check = (client: HealthClient, service: string, timeoutMs: number): Promise<Serving> =>
  callUnary(client.check.bind(client), { service }, { timeoutMs }).then((response) => response.status);

const fromServing = (status: Serving, asked: string): Health =>
  status === Serving.SERVING
    ? { state: 'ok', detail: '' }
    : {
        state: 'not serving',
        detail: `its health service answers ${Serving[status] ?? status} for ${asked === '' ? 'the server' : asked}`,
      };

export const probeHealth = async (
  address: string,
  service: string,
  timeoutMs = 1000,
  /** When the server speaks TLS. */
  tls?: ClientTls,
): Promise<Health> => {
  const secure = channelCredentials(tls, address);
  const client = new HealthClient(address, secure.credentials, secure.options);
  try {
    try {
      return fromServing(await check(client, '', timeoutMs), '');
    } catch (err) {
      if (!isServiceError(err) || err.code !== Status.NOT_FOUND) throw err;
    }
    return fromServing(await check(client, service, timeoutMs), service);
  } catch (err) {
    if (!isServiceError(err)) return { state: 'failing', detail: String(err) };
    switch (err.code) {
      case Status.UNIMPLEMENTED:
        return { state: 'ok', detail: 'no health service (grpc.health.v1); it answers gRPC' };
      case Status.UNAVAILABLE:
      case Status.DEADLINE_EXCEEDED:
        return { state: 'unreachable', detail: 'nothing answers there: is it running?' };
      case Status.NOT_FOUND:
        return {
          state: 'ok',
          detail: `its health service knows neither the server ("") nor ${service}; it answers gRPC`,
        };
      default:
        return { state: 'failing', detail: `health check: ${Status[err.code]}: ${err.details}` };
    }
  } finally {
    client.close();
  }
};
