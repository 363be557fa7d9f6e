import { Metadata } from '@grpc/grpc-js';
import { channelCredentials, type ClientTls } from '../../runtime/grpc/client-credentials.js';
import { afterAll } from 'vitest';
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthClient,
} from '../../runtime/protocol/gen/grpc/health/v1/health.js';

/** grpc.health.v1 as a probe sees it: Check(service) → "SERVING", "NOT_SERVING", … (or a rejected call). */

const clients: HealthClient[] = [];
afterAll(() => {
  for (const client of clients.splice(0)) client.close();
});

export const healthCheck = (
  address: string,
  service: string,
  timeoutMs = 5000,
  tls?: ClientTls,
): Promise<string> => {
  const secure = channelCredentials(tls, address);
  const client = new HealthClient(address, secure.credentials, secure.options);
  clients.push(client);
  return new Promise((resolve, reject) =>
    client.check({ service }, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, response) =>
      err ? reject(err) : resolve(Serving[response.status]),
    ),
  );
};
