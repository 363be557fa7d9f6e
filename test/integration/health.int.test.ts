import { status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../helpers/clients.js';
import { healthCheck } from '../helpers/health.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/** grpc.health.v1 on both ports, as grpc_health_probe and Kubernetes probes use it. */

let runtime: TestRuntime;

beforeAll(async () => {
  runtime = await startTestRuntime();
});

const port = (which: 'commandHandler' | 'queryHandler'): string => runtime.runtime[which].address;

describe('grpc.health.v1 Check', () => {
  it.each([
    ['commandHandler', ''],
    ['commandHandler', 'evented.BusinessCoordinator'],
    ['queryHandler', ''],
    ['queryHandler', 'evented.EventQuery'],
  ] as const)('on the %s, service "%s" is SERVING', async (which, service) => {
    expect(await healthCheck(port(which), service)).toBe('SERVING');
  });

  it.each([
    ['commandHandler', 'evented.Nonexistent'],
    ['commandHandler', 'evented.EventQuery'],
    ['queryHandler', 'evented.BusinessCoordinator'],
  ] as const)('on the %s, service "%s" (not served there) is NOT_FOUND', async (which, service) => {
    await expect(healthCheck(port(which), service)).rejects.toMatchObject(
      failure(status.NOT_FOUND, `unknown service "${service}"`),
    );
  });

  it('stops answering SERVING once the runtime has closed', async () => {
    const closing = await startTestRuntime();
    const address = closing.runtime.commandHandler.address;
    expect(await healthCheck(address, '')).toBe('SERVING');

    await closing.runtime.close();

    await expect(healthCheck(address, '', 2000)).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });
});
