import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ServerCredentials, status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  configSchema,
  startRuntime,
  type Runtime,
  type UserConfig,
} from '../../runtime/index.js';
import {
  AdminClient,
  type ComponentStatus,
  type RuntimeStatus,
} from '../../runtime/protocol/gen/evented/evented.js';
import type { StatusView } from '../../runtime/console/api.js';
import { callUnary } from '../../runtime/grpc/unary.js';
import { channelCredentials, withToken, type ClientTls } from '../../runtime/grpc/client-credentials.js';
import { command, events, newRoot, open, opened } from '../helpers/account.js';
import { startScriptedBusinessLogic } from '../helpers/business-logic.js';
import { makeTestPki, type TestPki } from '../helpers/certificates.js';
import { commandClient, rawCall } from '../helpers/clients.js';
import { consoleRequest } from '../helpers/console.js';
import { startRecordingProjector, type RecordingProjector } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { healthCheck } from '../helpers/health.js';
import { freePort } from '../helpers/ports.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Beyond one machine every port is reachable: TLS on every server of the runtime (optionally mutual), on its calls
 * to business logic, projectors and sagas that speak it, and the token the admin service and the coordinators
 * require. Real gRPC on loopback, certificates made by openssl for each run.
 */

const TOKEN = 'a-token-of-thirty-two-characters';

let pki: TestPki;
const pem = (path: string): Buffer => readFileSync(path);
/** What a client that trusts the test CA presents, with or without a client certificate. */
const trusting = (withCertificate = false): ClientTls => ({
  ca: pem(pki.ca),
  ...(withCertificate && { cert: pem(pki.client.cert), key: pem(pki.client.key) }),
});
const serverCredentials = (): ServerCredentials =>
  ServerCredentials.createSsl(null, [
    { cert_chain: pem(pki.runtime.cert), private_key: pem(pki.runtime.key) },
  ]);

/** The runtime's status through its admin service, as the CLI asks for it. */
const statusOf = (address: string, tls: ClientTls | undefined, token?: string): Promise<RuntimeStatus> => {
  const secure = channelCredentials(tls, address);
  const client = new AdminClient(address, secure.credentials, secure.options);
  return callUnary(client.status.bind(client), {}, { timeoutMs: 10_000, metadata: withToken(token) }).finally(
    () => client.close(),
  );
};

const component = (status: RuntimeStatus, name: string): ComponentStatus | undefined =>
  status.components.find((c) => c.name === name);

/** Every server of a runtime, by the name `evented status` gives it. */
const serversOf = (runtime: Runtime): Record<string, string> => ({
  'command handler': runtime.commandHandler!.address,
  'query handler': runtime.queryHandler!.address,
  'projector coordinator': runtime.projectorCoordinator!.address,
  'saga coordinator': runtime.sagaCoordinator!.address,
  'admin service': runtime.admin!.address,
});

/** A method of each server, called with an empty request: what a client without TLS tries. */
const ANY_METHOD: Record<string, [string, 'unary' | 'serverStream']> = {
  'command handler': ['/evented.BusinessCoordinator/Handle', 'unary'],
  'query handler': ['/evented.EventQuery/GetAggregateRoots', 'serverStream'],
  'projector coordinator': ['/evented.ProjectorCoordinator/Handle', 'unary'],
  'saga coordinator': ['/evented.SagaCoordinator/Handle', 'unary'],
  'admin service': ['/evented.Admin/Status', 'unary'],
};

beforeAll(() => {
  pki = makeTestPki();
});

describe('a runtime with TLS, its business logic and projector over TLS, and a token', () => {
  let test: TestRuntime;
  let projector: RecordingProjector;
  let healthAddress: string;

  beforeAll(async () => {
    const logic = await startScriptedBusinessLogic(
      (context) => events(context.command!.cover!.root!.value, opened()),
      { credentials: serverCredentials() },
    );
    projector = await startRecordingProjector({ credentials: serverCredentials() });
    const saga = await startRecordingProjector();
    const healthPort = await freePort();
    healthAddress = `127.0.0.1:${healthPort}`;
    test = await startTestRuntime(
      {
        tls: { cert: pki.runtime.cert, key: pki.runtime.key, ca: pki.ca },
        token: { env: 'TLS_TEST_TOKEN' },
        health: { port: healthPort },
        domains: { account: { businessLogic: logic.address, tls: true } },
        projectors: { accounts: { address: projector.address, domains: ['account'], tls: true } },
        // A saga in plaintext beside them: each target is reached as its own `tls` says.
        sagas: { transfers: { address: saga.address, domains: ['other'] } },
      },
      { env: { TLS_TEST_TOKEN: TOKEN } },
    );
  });

  it('serves a command over TLS, calls business logic and the projector over TLS, and checks its own servers over TLS', async () => {
    const root = newRoot();
    const response = await commandClient(test.runtime.commandHandler.address, { tls: trusting() }).handle(
      command(root, open()),
    );
    expect(response.books[0]?.pages.map((page) => page.num)).toEqual([0]);
    await eventually(() => expect(projector.delivered.map((d) => d.sequence)).toEqual([0]));

    const status = await statusOf(test.runtime.admin.address, trusting(), TOKEN);
    for (const name of Object.keys(serversOf(test.runtime))) {
      if (name === 'admin service') continue; // it does not list itself
      expect(component(status, name), name).toMatchObject({ kind: 'grpc+tls', state: 'ok' });
    }
    expect(component(status, 'business logic account')).toMatchObject({ kind: 'grpc+tls', state: 'ok' });
    expect(component(status, 'projector accounts')).toMatchObject({ kind: 'grpc+tls' });
    expect(component(status, 'saga transfers')).toMatchObject({ kind: 'grpc' });
  });

  it('gives a client without TLS nothing, on every server', async () => {
    for (const [name, address] of Object.entries(serversOf(test.runtime))) {
      const [path, kind] = ANY_METHOD[name]!;
      const outcome = await rawCall(address, path, new Uint8Array(), kind, { token: TOKEN });
      expect(outcome, name).toMatchObject({ code: status.UNAVAILABLE, messages: [] });
    }
  });

  it('refuses a server certificate the client does not trust, or one for another name', async () => {
    const address = test.runtime.commandHandler.address;
    const [path, kind] = ANY_METHOD['command handler']!;
    const untrusted = await rawCall(address, path, new Uint8Array(), kind, { tls: { ca: pem(pki.rogueCa) } });
    expect(untrusted).toMatchObject({
      code: status.UNAVAILABLE,
      details: expect.stringMatching(/certificate/),
    });
    const otherName = await rawCall(address, path, new Uint8Array(), kind, {
      tls: { ...trusting(), serverName: 'bank-command.example' },
    });
    expect(otherName).toMatchObject({ code: status.UNAVAILABLE, details: expect.stringMatching(/altnames/) });
  });

  it('answers health checks in plaintext on the health port, and nothing else there', async () => {
    await expect(healthCheck(healthAddress, '')).resolves.toBe('SERVING');
    const admin = await rawCall(healthAddress, '/evented.Admin/Status', new Uint8Array(), 'unary', {
      token: TOKEN,
    });
    expect(admin.code).toBe(status.UNIMPLEMENTED);
  });

  it('requires the token of the admin service and both coordinators: none, or another, is UNAUTHENTICATED', async () => {
    const guarded = ['projector coordinator', 'saga coordinator', 'admin service'] as const;
    const tls = trusting();
    for (const name of guarded) {
      const address = serversOf(test.runtime)[name]!;
      const [path, kind] = ANY_METHOD[name]!;
      const none = await rawCall(address, path, new Uint8Array(), kind, { tls });
      expect(none, name).toEqual({
        code: status.UNAUTHENTICATED,
        details: expect.stringMatching(new RegExp(`^the ${name} requires a token: none was sent \\(`)),
        messages: [],
      });
      const wrong = await rawCall(address, path, new Uint8Array(), kind, { tls, token: `${TOKEN}x` });
      expect(wrong, name).toMatchObject({
        code: status.UNAUTHENTICATED,
        details: expect.stringMatching(new RegExp(`^the ${name} refused the token sent`)),
      });
      // A prefix of the token is another token.
      const prefix = await rawCall(address, path, new Uint8Array(), kind, { tls, token: TOKEN.slice(0, -1) });
      expect(prefix.code, name).toBe(status.UNAUTHENTICATED);
      // With it, the call goes through to the service (which then judges the request itself).
      const right = await rawCall(address, path, new Uint8Array(), kind, { tls, token: TOKEN });
      expect(right.code, name).not.toBe(status.UNAUTHENTICATED);
      // Health checks stay open.
      await expect(healthCheck(address, '', 5000, tls), name).resolves.toBe('SERVING');
    }
    await expect(statusOf(test.runtime.admin.address, tls, TOKEN)).resolves.toMatchObject({
      name: 'evented',
    });
  });

  it('serves the console, which reads through its own admin service and query handler over TLS, with the token', async () => {
    const root = newRoot();
    await commandClient(test.runtime.commandHandler.address, { tls: trusting() })
      .handle(command(root, open()))
      .catch(() => undefined);
    const statusAnswer = await consoleRequest<StatusView>(`${test.runtime.console!.url}api/status`);
    expect(statusAnswer.status, statusAnswer.text).toBe(200);
    expect(statusAnswer.body.components).toContainEqual(
      expect.objectContaining({ name: 'command handler', kind: 'grpc+tls', state: 'ok' }),
    );
    const events = await consoleRequest(`${test.runtime.console!.url}api/events`);
    expect(events.status, events.text).toBe(200);
  });

  it('does not ask the command and query handlers’ callers for the token: they are the application’s API', async () => {
    const root = newRoot();
    await expect(
      commandClient(test.runtime.commandHandler.address, { tls: trusting() }).handle(command(root, open())),
    ).resolves.toMatchObject({ books: [expect.anything()] });
    const [path, kind] = ANY_METHOD['query handler']!;
    const roots = await rawCall(test.runtime.queryHandler.address, path, new Uint8Array(), kind, {
      tls: trusting(),
    });
    expect(roots.code).toBe(status.OK);
  });
});

describe('mutual TLS', () => {
  let test: TestRuntime;
  beforeAll(async () => {
    test = await startTestRuntime({
      tls: { cert: pki.runtime.cert, key: pki.runtime.key, ca: pki.ca, clientCa: pki.ca },
    });
  });

  it('refuses a client without a certificate, and one whose certificate another CA signed', async () => {
    const address = test.runtime.commandHandler.address;
    const [path, kind] = ANY_METHOD['command handler']!;
    const without = await rawCall(address, path, new Uint8Array(), kind, { tls: trusting() });
    expect(without).toMatchObject({ code: status.UNAVAILABLE, messages: [] });
    expect(without.details).toMatch(/certificate required/);
    const rogue = await rawCall(address, path, new Uint8Array(), kind, {
      tls: { ca: pem(pki.ca), cert: pem(pki.rogueClient.cert), key: pem(pki.rogueClient.key) },
    });
    expect(rogue).toMatchObject({ code: status.UNAVAILABLE, messages: [] });
  });

  it('serves a client with a certificate it trusts, and still checks its own servers', async () => {
    const root = newRoot();
    await expect(
      commandClient(test.runtime.commandHandler.address, { tls: trusting(true) }).handle(
        command(root, open()),
      ),
    ).rejects.toMatchObject({ code: status.NOT_FOUND }); // served: no business logic is configured for "account"
    const status_ = await statusOf(test.runtime.admin.address, trusting(true));
    // The console is such a client too: it presents the runtime's certificate.
    const fromConsole = await consoleRequest(`${test.runtime.console!.url}api/status`);
    expect(fromConsole.status, fromConsole.text).toBe(200);
    expect(component(status_, 'command handler')).toMatchObject({ kind: 'grpc+tls', state: 'ok' });
  });
});

describe('a wrong TLS or token configuration', () => {
  const start = (config: Partial<UserConfig>, env: NodeJS.ProcessEnv = {}) =>
    startRuntime(
      configSchema.parse({
        ...config,
        commandHandler: { port: 0 },
        queryHandler: { port: 0 },
        admin: { port: 0 },
        console: { port: 0 },
      }),
      { projectDir: tempDir(), logger: pino({ level: 'silent' }), env },
    ).then(
      (runtime: Runtime) => runtime.close(100).then(() => undefined),
      (err: unknown) => err,
    );

  it('is one line naming the key, before anything starts', async () => {
    const missing = await start({ tls: { cert: join(pki.dir, 'nowhere.crt'), key: pki.runtime.key } });
    expect(missing).toBeInstanceOf(ConfigError);
    expect((missing as Error).message).toMatch(/^tls\.cert: cannot read .*nowhere\.crt/);

    const notTheKey = await start({ tls: { cert: pki.runtime.cert, key: pki.client.key } });
    expect((notTheKey as Error).message).toMatch(/^tls\.key: .* is not the private key of the certificate/);

    const notPem = join(tempDir(), 'garbage.crt');
    writeFileSync(notPem, 'not a certificate');
    const garbage = await start({ tls: { cert: notPem, key: pki.runtime.key } });
    expect((garbage as Error).message).toMatch(/^tls\.cert: .* is not a PEM certificate/);

    const short = join(tempDir(), 'token');
    writeFileSync(short, 'short\n');
    const shortToken = await start({ token: { file: short } });
    expect((shortToken as Error).message).toMatch(
      /^token\.file .*: the token is 5 characters long; it must have at least 16/,
    );

    const unset = await start({ token: { env: 'NO_SUCH_TOKEN_VARIABLE' } });
    expect((unset as Error).message).toBe(
      'token.env: the environment variable NO_SUCH_TOKEN_VARIABLE is not set',
    );
  });
});
