import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { makeTestPki, type TestPki } from '../helpers/certificates.js';
import {
  assertBuilt,
  configYaml,
  errorLines,
  evented,
  freeRuntimePorts,
  runEvented,
  writeConfig,
  type RuntimePorts,
} from '../helpers/cli.js';
import { typescriptTemplate } from '../helpers/paths.js';
import type { TestProcess } from '../helpers/processes.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `evented serve` with mutual TLS on every server and a token, and the CLI talking to it as a user would: in the
 * project folder with what evented.yaml says, and from anywhere with --address and the --tls-* and --token-file
 * flags (or their EVENTED_ twins). What is refused is refused in one line, with what to give.
 */

const TOKEN = 'e2e-token-0123456789abcdef0123456789';
const STACK_FRAME = /^\s+at /m;

let pki: TestPki;
let dir: string;
let ports: RuntimePorts;
let serve: TestProcess;
let tokenFile: string;

beforeAll(async () => {
  assertBuilt();
  pki = makeTestPki();
  dir = tempDir();
  cpSync(join(typescriptTemplate, 'proto/account'), join(dir, 'proto/account'), { recursive: true });
  // The project keeps its certificates and token beside evented.yaml, named by relative paths.
  mkdirSync(join(dir, 'tls'));
  for (const [from, to] of [
    [pki.runtime.cert, 'runtime.crt'],
    [pki.runtime.key, 'runtime.key'],
    [pki.ca, 'ca.crt'],
  ] as const) {
    copyFileSync(from, join(dir, 'tls', to));
  }
  writeFileSync(join(dir, 'tls', 'token'), `${TOKEN}\n`);
  tokenFile = join(pki.dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const logic = await startSampleBusinessLogic();
  ports = await freeRuntimePorts();
  writeConfig(
    dir,
    configYaml({
      ports,
      domains: { account: { businessLogic: logic.address } },
      tls: { cert: 'tls/runtime.crt', key: 'tls/runtime.key', ca: 'tls/ca.crt', clientCa: 'tls/ca.crt' },
      token: { file: 'tls/token' },
    }),
  );
  serve = evented(['serve', dir]);
  await serve.waitFor(/admin on \S+/, 30_000);
});
afterAll(async () => {
  await serve?.stop('SIGTERM');
});

const admin = (): string => `127.0.0.1:${ports.admin}`;

/** The CLI run from a folder that is no project: everything it knows comes from its flags and environment. */
const elsewhere = async (args: string[], env: Record<string, string> = {}) => {
  const result = await runEvented(args, { cwd: tempDir(), env });
  expect(result.stderr).not.toMatch(STACK_FRAME);
  return result;
};

const CLIENT_FLAGS = (): string[] => [
  '--address',
  admin(),
  '--tls-ca',
  pki.ca,
  '--tls-cert',
  pki.client.cert,
  '--tls-key',
  pki.client.key,
];

describe('the CLI against a runtime with mutual TLS and a token', () => {
  it('in the project folder, reaches it as evented.yaml says: status, and a command over TLS', async () => {
    const status = await runEvented(['status'], { cwd: dir });
    expect(status.stderr).toBe('');
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toMatch(/command handler\s+grpc\+tls\s+127\.0\.0\.1:\d+\s+ok/);

    const sent = await runEvented(['send', 'account', 'new', 'OpenAccount', '{"owner": "ada"}'], {
      cwd: dir,
    });
    expect(sent.stderr).toBe('');
    expect(sent.stdout).toMatch(/^accepted; aggregate [0-9a-f-]{36}: 1 event\n/);
  });

  it('from anywhere, with the flags, or with their EVENTED_ twins and EVENTED_TOKEN', async () => {
    const flags = await elsewhere(['status', ...CLIENT_FLAGS(), '--token-file', tokenFile]);
    expect(flags).toMatchObject({ exitCode: 0, stderr: '' });

    const twins = await elsewhere(['status', '--address', admin()], {
      EVENTED_TLS_CA: pki.ca,
      EVENTED_TLS_CERT: pki.client.cert,
      EVENTED_TLS_KEY: pki.client.key,
      EVENTED_TOKEN: TOKEN,
    });
    expect(twins).toMatchObject({ exitCode: 0, stderr: '' });
  });

  it('is refused in one line, saying what to give: no TLS, no client certificate, an untrusted runtime', async () => {
    const plaintext = await elsewhere(['status', '--address', admin(), '--token-file', tokenFile]);
    expect(plaintext.exitCode).toBe(1);
    expect(errorLines(plaintext.stderr)).toEqual([
      `error: no evented runtime answers at ${admin()} (from --address)`,
    ]);
    expect(plaintext.stderr).toMatch(/hint: .*--tls-ca/);

    const noCertificate = await elsewhere(['status', '--address', admin(), '--tls-ca', pki.ca]);
    expect(noCertificate.exitCode).toBe(1);
    expect(errorLines(noCertificate.stderr)).toEqual([
      `error: the runtime at ${admin()} refused this CLI's client certificate, or wants one (mutual TLS)`,
    ]);

    const untrusted = await elsewhere([
      'status',
      '--address',
      admin(),
      '--tls-ca',
      pki.rogueCa,
      '--tls-cert',
      pki.client.cert,
      '--tls-key',
      pki.client.key,
    ]);
    expect(untrusted.exitCode).toBe(1);
    expect(errorLines(untrusted.stderr)[0]).toMatch(
      /^error: the certificate of the runtime at .* is not trusted: /,
    );
    expect(untrusted.stderr).toMatch(/hint: pass --tls-ca FILE/);

    const wrongName = await elsewhere([...['status'], ...CLIENT_FLAGS(), '--tls-server-name', 'bank-admin']);
    expect(errorLines(wrongName.stderr)[0]).toMatch(
      /^error: the certificate of the runtime at .* is not for that name/,
    );
  });

  it('is refused without the token, or with another, in one line', async () => {
    const none = await elsewhere(['status', ...CLIENT_FLAGS()]);
    expect(none.exitCode).toBe(1);
    expect(errorLines(none.stderr)).toEqual(['error: the admin service requires a token: none was sent']);
    expect(none.stderr).toMatch(/hint: pass the runtime's token: --token-file FILE/);

    const wrong = await elsewhere(['status', ...CLIENT_FLAGS()], { EVENTED_TOKEN: `${TOKEN}-not` });
    expect(wrong.exitCode).toBe(1);
    expect(errorLines(wrong.stderr)[0]).toMatch(/^error: the admin service refused the token sent/);

    const json = await elsewhere(['status', ...CLIENT_FLAGS(), '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'UNAUTHENTICATED', exitCode: 1 } });
  });
});
