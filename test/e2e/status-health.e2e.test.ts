import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealthStatus } from '../../runtime/grpc/health.js';
import { command, events, newRoot, open, opened } from '../helpers/account.js';
import { startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { assertBuilt, runEvented } from '../helpers/cli.js';
import { startRecordingProjector } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * `evented status` reports health it checked: grpc.health.v1 on every gRPC server (the runtime's own and the
 * user's), not a TCP connect; a subscriber's LAST ERROR is what is wrong now, not what was wrong once.
 */

interface StatusJson {
  components: { name: string; state: string; detail: string }[];
  subscribers: { name: string; state: string; lastError: string; delivered: number }[];
}

const status = async (admin: string) => {
  const table = await runEvented(['status', '--address', admin]);
  const json = await runEvented(['status', '--address', admin, '--json']);
  return { ...table, json: JSON.parse(json.stdout) as StatusJson };
};

const servers: Server[] = [];
afterAll(() => servers.forEach((server) => server.forceShutdown()));

/** A gRPC server with only grpc.health.v1, answering NOT_SERVING: a service that says it cannot take calls. */
const notServing = async (): Promise<string> => {
  const server = new Server();
  servers.push(server);
  const health = createHealthStatus(['evented.BusinessLogic']);
  server.addService(health.service, health.implementation as unknown as UntypedServiceImplementation);
  health.set('', false);
  health.set('evented.BusinessLogic', false);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return `127.0.0.1:${port}`;
};

beforeAll(() => assertBuilt());

describe('evented status', () => {
  it('a business logic whose health service answers NOT_SERVING: status says so and exits 1', async () => {
    const sick = await notServing();
    // and one that has no health service but answers gRPC: ok, said as such
    const plain = await startScriptedBusinessLogic((c) => events(c.command!.cover!.root!.value, opened()));
    const { runtime } = await startTestRuntime({
      domains: { account: { businessLogic: sick }, ledger: { businessLogic: plain.address } },
    });

    const result = await status(runtime.admin.address);

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(
      /^business logic account\s+grpc\s+127\.0\.0\.1:\d+\s+not serving\s+its health service answers NOT_SERVING/m,
    );
    expect(result.stderr).toMatch(/^error: not healthy: business logic account is not serving$/m);
    const components = Object.fromEntries(result.json.components.map((c) => [c.name, c]));
    expect(components['business logic ledger']).toEqual(
      expect.objectContaining({ state: 'ok', detail: expect.stringContaining('no health service') }),
    );
    // the runtime's own servers, checked the same way
    expect(components['command handler']).toMatchObject({ state: 'ok', detail: '' });
    expect(components['query handler']).toMatchObject({ state: 'ok', detail: '' });
  });

  it('a projector that was down and is back: no stale LAST ERROR, exit 0', async () => {
    const projector = await startRecordingProjector();
    projector.stop();
    const logic = await startScriptedBusinessLogic((c) => events(c.command!.cover!.root!.value, opened()));
    const { runtime, commands } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { accounts: { address: projector.address, domains: ['account'] } },
      delivery: { maxBackoffMs: 200 },
    });
    await commands.handle(command(newRoot(), open('ada')));

    // While it is down: waiting, why, and not healthy.
    const down = await eventually(async () => {
      const result = await status(runtime.admin.address);
      expect(result.json.subscribers[0]).toMatchObject({
        state: 'waiting',
        lastError: expect.stringContaining('UNAVAILABLE'),
      });
      return result;
    });
    expect(down.exitCode).toBe(1);
    expect(down.json.components.find((c) => c.name === 'projector accounts')?.state).toBe('unreachable');

    // Back: it gets the event, and status no longer shows what was wrong while it was down.
    await projector.restart();
    await eventually(() => expect(projector.delivered).toHaveLength(1));
    const back = await eventually(async () => {
      const result = await status(runtime.admin.address);
      expect(result.json.subscribers[0]).toMatchObject({ state: 'live', delivered: 1 });
      return result;
    });
    expect(back.json.subscribers[0]!.lastError).toBe('');
    expect(back.stdout).not.toContain('UNAVAILABLE');
    expect(back.exitCode).toBe(0);
  });
});
