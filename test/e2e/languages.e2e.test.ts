import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { execa } from 'execa';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import {
  SagaClient,
  type CommandBook,
  type EventBook,
  type SynchronousProcessingResponse,
} from '../../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes, uuidFromBytes } from '../../runtime/protocol/uuid.js';
import {
  decodeCommand,
  decodeEvent,
  encodeCommand,
  encodeEvent,
} from '../../templates/typescript/src/codec.js';
import type { AccountCommand } from '../../templates/typescript/src/domain.js';
import { assertBuilt, evented, moveRuntimePorts, runEvented } from '../helpers/cli.js';
import { eventedBin, repoRoot } from '../helpers/paths.js';
import { acceptsConnections } from '../../runtime/support/net.js';
import { commandClient, failureContaining, queryClient } from '../helpers/clients.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/ports.js';
import { binFolder, groupAlive } from '../helpers/processes.js';
import { readAccounts } from '../helpers/read-model.js';
import { describeWithToolchain } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Every language's template, proven end to end as a user would use it: `evented init --lang X`, the build and
 * the project's own unit tests (offline, with Debian's toolchains: these machines reach no PyPI, Go proxy or
 * Maven Central), then its three services started with the commands of its evented.yaml `processes`, beside
 * `evented serve` on the embedded defaults (SQLite, in-process bus), and commands through gRPC: the events in
 * the store, the projector's read model, the saga's ReceiveTransfer and a refused withdrawal.
 *
 * A language is one entry of LANGUAGES. A language whose toolchain is missing here is skipped with the reason
 * printed, unless EVENTED_TEST_REQUIRE names it.
 *
 * Every template honours the same knobs, which the test uses: PORT (each service's port), SNAPSHOT_EVERY (the
 * business logic's snapshot interval) and READ_MODEL (the projector's JSON file, relative to its folder), and
 * prints nothing the test waits for: a service is ready when its `readyOn` port accepts connections.
 */

interface Language {
  lang: string;
  /** What this machine lacks to build the template, or undefined when it has everything. */
  missing(): string | undefined;
  /** Where `evented init` writes the project, under a fresh folder `root`. */
  projectIn(root: string): string;
  /** The environment of every build step, test run and service: the toolchain, set up for offline use. */
  toolchain(root: string): Record<string, string>;
  /** The build, offline: commands run in the project folder, in order. */
  build(root: string): string[][];
  /** The project's own unit tests, and what their output says when every one passed. */
  unitTests: { command: string[]; passed: RegExp };
  /** How long scaffolding, building and unit-testing may take together. */
  buildTimeoutMs: number;
}

const DEBIAN_PYTHON = '/usr/bin/python3';
const DEBIAN_GOPATH = '/usr/share/gocode';

/** The first line of what a command prints, or undefined when it could not run or failed. */
const probe = (file: string, args: string[]): string | undefined => {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? `${result.stdout}${result.stderr}`.split('\n')[0] : undefined;
};

const firstMissing = (checks: [ok: boolean, what: string][]): string | undefined =>
  checks.find(([ok]) => !ok)?.[1];

const LANGUAGES: Language[] = [
  {
    lang: 'python',
    missing: () =>
      firstMissing([
        [existsSync(DEBIAN_PYTHON), `${DEBIAN_PYTHON} is missing (apt-get install python3)`],
        [
          probe(DEBIAN_PYTHON, ['-c', 'import grpc, grpc_tools.protoc']) !== undefined,
          `${DEBIAN_PYTHON} cannot import grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)`,
        ],
        [probe('make', ['--version']) !== undefined, 'make is missing (apt-get install make)'],
      ]),
    projectIn: (root) => join(root, 'bank'),
    // `python3` is Debian's, the one with grpcio (a pyenv or venv python3 earlier on PATH may lack it).
    toolchain: (root) => ({
      PATH: `${binFolder(root, { python3: DEBIAN_PYTHON })}:${process.env.PATH}`,
      PYTHONDONTWRITEBYTECODE: '1',
    }),
    build: () => [['make', 'gen']],
    unitTests: { command: ['make', 'test'], passed: /^Ran \d+ tests? in [\d.]+s\n+OK$/m },
    buildTimeoutMs: 120_000,
  },
  {
    lang: 'go',
    missing: () =>
      firstMissing([
        [probe('go', ['version']) !== undefined, 'go is missing (apt-get install golang-go)'],
        [
          probe('protoc', ['--version']) !== undefined,
          'protoc is missing (apt-get install protobuf-compiler)',
        ],
        [
          probe('protoc-gen-go-grpc', ['--version']) !== undefined,
          'protoc-gen-go-grpc is missing (apt-get install protoc-gen-go-grpc)',
        ],
        [
          existsSync(join(DEBIAN_GOPATH, 'src/google.golang.org/grpc')),
          `${DEBIAN_GOPATH} has no google.golang.org/grpc (apt-get install golang-google-grpc-dev)`,
        ],
        [
          existsSync(join(DEBIAN_GOPATH, 'src/google.golang.org/protobuf/cmd/protoc-gen-go')),
          `${DEBIAN_GOPATH} has no google.golang.org/protobuf (apt-get install golang-google-protobuf-dev)`,
        ],
      ]),
    // GOPATH mode: the project is the package tree of its module path (`bank`, from --name) in a GOPATH of its
    // own; Debian's Go libraries are the second GOPATH entry. No module proxy, no go.sum.
    projectIn: (root) => join(root, 'gopath/src/bank'),
    toolchain: (root) => ({
      PATH: `${binFolder(root)}:${process.env.PATH}`,
      GO111MODULE: 'off',
      GOPATH: `${join(root, 'gopath')}:${DEBIAN_GOPATH}`,
      GOPROXY: 'off',
      // Debian's gRPC-Go 1.33 needs the template's internal/server/debian_codec.go (see there).
      GOFLAGS: '-tags=debiangrpc',
    }),
    // Debian's /usr/bin/protoc-gen-go is the old github.com/golang/protobuf one: build the current one from
    // Debian's google.golang.org/protobuf sources, ahead of it on PATH.
    build: (root) => [
      ['go', 'build', '-o', join(root, 'bin/protoc-gen-go'), 'google.golang.org/protobuf/cmd/protoc-gen-go'],
      ['go', 'generate', './...'],
      ['go', 'vet', './...'],
      ['go', 'build', './...'],
    ],
    unitTests: { command: ['go', 'test', './...'], passed: /^ok\s+bank\/internal\/account\s/m },
    buildTimeoutMs: 300_000,
  },
  {
    lang: 'java',
    // The template's build-offline.sh knows what it needs (a JDK, protoc, Debian's grpc-java plugin and the jars
    // of libgrpc-java, libprotobuf-java, libguava-java, libnetty-java, libperfmark-java) and lists what is missing.
    missing: () => {
      const check = spawnSync('sh', [join(repoRoot, 'templates/java/build-offline.sh'), 'check'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      if (check.status === 0) return undefined;
      const absent = check.stderr
        .split('\n')
        .slice(1)
        .map((line) => line.trim())
        .filter(Boolean);
      return `build-offline.sh check: missing ${absent.join(', ') || check.error?.message}`;
    },
    projectIn: (root) => join(root, 'bank'),
    toolchain: () => ({}),
    // Maven Central is out of reach: protoc with grpc_java_plugin, javac, and a target/bank.jar whose manifest
    // points at /usr/share/java, the same jar `mvn package` writes (there with every dependency inside).
    build: () => [['sh', './build-offline.sh', 'build']],
    // The JUnit 5 test classes (JUnit itself under Maven), run here by the template's offline/RunTests.java.
    unitTests: { command: ['sh', './build-offline.sh', 'test'], passed: /^[1-9]\d* passed, 0 failed$/m },
    buildTimeoutMs: 300_000,
  },
];

const DOMAIN = 'ledger';

beforeAll(() => assertBuilt());

/** The test's own environment, without the variables of the vitest running it (a nested runner reads them). */
const baseEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && !/^(VITEST|TEST$|NODE_ENV$|FORCE_COLOR$)/.test(entry[0]),
    ),
  );

const run = async (command: string[], cwd: string, env: Record<string, string>, timeout: number) => {
  const [file, ...args] = command;
  const result = await execa(file!, args, { cwd, env, extendEnv: false, reject: false, all: true, timeout });
  expect(result.exitCode, `${command.join(' ')} in ${cwd}:\n${result.all}`).toBe(0);
  return result.all ?? '';
};

/** Resolves when something accepts connections on host:port. */
const listening = (address: string, timeoutMs: number, service: UserService): Promise<void> => {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const deadline = Date.now() + timeoutMs;
  return eventually(
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host, port }, () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', (err) => {
          socket.destroy();
          if (Date.now() > deadline)
            reject(new Error(`nothing listens on ${address}; ${service.name} printed:\n${service.output()}`));
          else reject(err);
        });
      }),
    timeoutMs,
    100,
  );
};

interface ServiceSpec {
  name: string;
  command: string;
  address: string;
  env: Record<string, string>;
  cwd: string;
}

/** A service of evented.yaml `processes`, run as `evented up` runs it: through a shell, in its own process group. */
interface UserService extends ServiceSpec {
  output(): string;
  /** SIGTERM to the group; resolves with whether everything in it was gone within `graceMs` (then SIGKILLs). */
  stop(graceMs?: number): Promise<boolean>;
}

const groups = new Set<number>();
afterAll(() => {
  for (const pid of groups) signalGroup(pid, 'SIGKILL');
});

const signalGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // ESRCH: already gone
  }
};

const startService = (spec: ServiceSpec, baseEnvironment: Record<string, string>): UserService => {
  const child = execa(spec.command, [], {
    shell: true,
    cwd: spec.cwd,
    env: { ...baseEnvironment, ...spec.env },
    extendEnv: false,
    detached: true,
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
  });
  const pid = child.pid!;
  groups.add(pid);
  let text = '';
  child.all?.setEncoding('utf8');
  child.all?.on('data', (chunk: string) => (text += chunk));
  return {
    ...spec,
    output: () => text,
    async stop(graceMs = 10_000) {
      signalGroup(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const clean = !groupAlive(pid);
      if (!clean) signalGroup(pid, 'SIGKILL');
      await child;
      groups.delete(pid);
      return clean;
    },
  };
};

/**
 * Gives every service of evented.yaml `processes` a free port (through PORT), points the configuration's
 * addresses that were its `readyOn` there, and moves the framework's own ports off the defaults too, so that
 * the test runs beside anything else on this machine. Returns the processes to start and the ports chosen.
 */
const configureForTest = async (project: string) => {
  const path = join(project, 'evented.yaml');
  const doc = parseDocument(readFileSync(path, 'utf8'));
  const processes = doc.toJS().processes as Record<
    string,
    { command: string; cwd?: string; env?: Record<string, string>; readyOn?: string }
  >;
  expect(Object.keys(processes ?? {}).sort()).toEqual(['business-logic', 'projector', 'saga']);
  const services: ServiceSpec[] = [];
  const moved: Record<string, string> = {};
  for (const [name, spec] of Object.entries(processes)) {
    expect(spec.readyOn, `processes.${name}.readyOn`).toBeDefined();
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    moved[spec.readyOn!] = address;
    doc.setIn(['processes', name, 'readyOn'], address);
    services.push({
      name,
      command: spec.command,
      address,
      cwd: join(project, spec.cwd ?? '.'),
      env: { ...spec.env, PORT: String(port), ...(name === 'business-logic' ? { SNAPSHOT_EVERY: '2' } : {}) },
    });
  }
  const retarget = (keyPath: string[]) => {
    const address = doc.getIn(keyPath) as string;
    expect(moved[address], `${keyPath.join('.')} (${address}) is the readyOn of a process`).toBeDefined();
    doc.setIn(keyPath, moved[address]);
  };
  retarget(['domains', DOMAIN, 'businessLogic']);
  retarget(['projectors', 'accounts', 'address']);
  retarget(['sagas', 'transfers', 'address']);
  const ports = await moveRuntimePorts(doc);
  writeFileSync(path, doc.toString());
  return { services, ports };
};

const accountCommand = (root: Uint8Array, command: AccountCommand): CommandBook => ({
  cover: { domain: DOMAIN, root: { value: root } },
  pages: [{ sequence: 0, synchronous: false, command: encodeCommand(command) }],
});

const askSaga = (address: string, book: EventBook): Promise<SynchronousProcessingResponse> => {
  const client = new SagaClient(address, credentials.createInsecure());
  return new Promise<SynchronousProcessingResponse>((resolve, reject) =>
    client.handleSync(
      book,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null, r) => (err ? reject(err) : resolve(r)),
    ),
  ).finally(() => client.close());
};

for (const language of LANGUAGES) {
  describeWithToolchain(language.lang, `the ${language.lang} template`, language.missing, () => {
    const root = tempDir(`evented-${language.lang}-`);
    const project = language.projectIn(root);
    const env = (): Record<string, string> => ({ ...baseEnv(), ...language.toolchain(root) });

    it(
      'is scaffolded by evented init, builds offline and passes its own unit tests',
      async () => {
        mkdirSync(join(project, '..'), { recursive: true });
        const init = await runEvented([
          'init',
          project,
          '--lang',
          language.lang,
          '--domain',
          DOMAIN,
          '--name',
          'bank',
          '--yes',
        ]);
        expect(init, init.stderr).toMatchObject({ exitCode: 0, stderr: '' });
        expect(init.stdout).toContain(`Created bank in ${project} from the `);

        for (const step of language.build(root)) await run(step, project, env(), language.buildTimeoutMs);
        const output = await run(language.unitTests.command, project, env(), language.buildTimeoutMs);
        expect(output).toMatch(language.unitTests.passed);
      },
      language.buildTimeoutMs * 2,
    );

    it('runs its services from evented.yaml beside evented serve: events stored, read model, saga command, refusal', async () => {
      const { services: specs, ports } = await configureForTest(project);
      const services = specs.map((spec) => startService(spec, env()));
      onTestFailed(() => {
        for (const service of services) console.error(`--- ${service.name} printed:\n${service.output()}`);
      });
      await Promise.all(services.map((service) => listening(service.address, 90_000, service)));
      const serve = evented(['serve', project]);
      await serve.waitFor(/evented serving bank: commands on/, 30_000);
      const commands = commandClient(`127.0.0.1:${ports.commands}`);
      const queries = queryClient(`127.0.0.1:${ports.queries}`);
      const ada = randomUuidBytes();
      const bob = randomUuidBytes();

      // Commands in: two accounts, a deposit, a transfer from one to the other, another deposit.
      await commands.handle(accountCommand(ada, { type: 'OpenAccount', owner: 'ada' }));
      await commands.handle(accountCommand(ada, { type: 'Deposit', amount: 100 }));
      await commands.handle(accountCommand(bob, { type: 'OpenAccount', owner: 'bob' }));
      await commands.handle(
        accountCommand(ada, { type: 'TransferMoney', toAccount: uuidFromBytes(bob), amount: 30 }),
      );
      await commands.handle(accountCommand(ada, { type: 'Deposit', amount: 5 }));

      // A withdrawal over the balance is refused with the business logic's status and message. With
      // SNAPSHOT_EVERY=2 the account loads from the snapshot taken after its 4th event: the balance in the
      // message comes from the snapshot's state.
      await expect(
        commands.handle(accountCommand(ada, { type: 'Withdraw', amount: 1000 })),
      ).rejects.toMatchObject(
        failureContaining(
          status.FAILED_PRECONDITION,
          'insufficient funds: the balance is 75, the withdrawal is 1000',
        ),
      );

      // The events in the store, numbered from 0, and nothing of the refused command.
      const eventsOf = async (root: Uint8Array) =>
        (await queries.getEvents({ domain: DOMAIN, root: { value: root } })).flatMap((book) =>
          book.pages.map((page) => ({ sequence: page.num, ...decodeEvent(page.Event!)! })),
        );
      expect(await eventsOf(ada)).toEqual([
        { sequence: 0, type: 'AccountOpened', owner: 'ada' },
        { sequence: 1, type: 'MoneyDeposited', amount: 100, balance: 100 },
        { sequence: 2, type: 'MoneyTransferredOut', toAccount: uuidFromBytes(bob), amount: 30, balance: 70 },
        { sequence: 3, type: 'MoneyDeposited', amount: 5, balance: 75 },
      ]);

      // The saga's command: ReceiveTransfer on the receiving account, through its business logic.
      await eventually(async () =>
        expect(await eventsOf(bob)).toEqual([
          { sequence: 0, type: 'AccountOpened', owner: 'bob' },
          { sequence: 1, type: 'TransferReceived', fromAccount: uuidFromBytes(ada), amount: 30, balance: 30 },
        ]),
      );
      // …and the command book the saga answers with, asked directly.
      const transferredOut = {
        cover: { domain: DOMAIN, root: { value: ada } },
        snapshot: undefined,
        pages: [
          {
            num: 2,
            createdAt: undefined,
            Event: encodeEvent({
              type: 'MoneyTransferredOut',
              toAccount: uuidFromBytes(bob),
              amount: 30,
              balance: 70,
            }),
            synchronous: false,
          },
        ],
      };
      const saga = services.find((s) => s.name === 'saga')!;
      const answer = await askSaga(saga.address, transferredOut);
      expect(answer.books).toEqual([]);
      expect(
        answer.commands.map((book) => ({
          domain: book.cover?.domain,
          root: uuidFromBytes(book.cover!.root!.value),
          commands: book.pages.map((page) => decodeCommand(page.command!)),
        })),
      ).toEqual([
        {
          domain: DOMAIN,
          root: uuidFromBytes(bob),
          commands: [{ type: 'ReceiveTransfer', fromAccount: uuidFromBytes(ada), amount: 30 }],
        },
      ]);

      // The projector's read model: each account once, with the sequence of its last event.
      const projector = services.find((s) => s.name === 'projector')!;
      const readModel = join(projector.cwd, projector.env.READ_MODEL ?? 'read-model/accounts.json');
      await eventually(() =>
        expect(readAccounts(readModel)).toEqual({
          [uuidFromBytes(ada)]: { open: true, owner: 'ada', balance: 75, sequence: 3 },
          [uuidFromBytes(bob)]: { open: true, owner: 'bob', balance: 30, sequence: 1 },
        }),
      );

      // Everything stops cleanly on SIGTERM.
      expect(await serve.stop('SIGTERM')).toEqual({ exitCode: 0, signal: undefined });
      for (const service of services) {
        expect(
          await service.stop(),
          `${service.name} stops on SIGTERM; it printed:\n${service.output()}`,
        ).toBe(true);
      }
    }, 180_000);

    it('passes the specs it ships with evented test, which starts its services from evented.yaml itself', async () => {
      // evented.yaml's processes on the ports configureForTest chose (through PORT, as each service reads it).
      const path = join(project, 'evented.yaml');
      const doc = parseDocument(readFileSync(path, 'utf8'));
      const processes = doc.toJS().processes as Record<string, { readyOn: string }>;
      for (const [name, spec] of Object.entries(processes)) {
        doc.setIn(['processes', name, 'env', 'PORT'], spec.readyOn.slice(spec.readyOn.lastIndexOf(':') + 1));
      }
      writeFileSync(path, doc.toString());
      for (const spec of Object.values(processes)) {
        expect(await acceptsConnections(spec.readyOn, 500), `${spec.readyOn} is free`).toBe(false);
      }

      const [file, ...args] = [process.execPath, eventedBin, 'test'];
      const run = await execa(file, args, {
        cwd: project,
        env: env(),
        extendEnv: false,
        reject: false,
        timeout: 240_000,
      });
      expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/^16 passed, 0 failed \(\d+\.\d s\)$/m);
      expect(run.stdout).not.toContain('✗');
      // The domain is the one init was given, in the specs as in evented.yaml.
      expect(run.stdout).toContain(`specs/account/deposits.yaml (business logic of ${DOMAIN})`);
      for (const spec of Object.values(processes)) {
        expect(await acceptsConnections(spec.readyOn, 500), `${spec.readyOn} is free again`).toBe(false);
      }
    }, 300_000);
  });
}
