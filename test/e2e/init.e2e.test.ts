import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { BusinessLogicClient, type EventBook } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import { parseConfigText } from '../../runtime/index.js';
import { decodeEvent, encodeCommand } from '../../templates/typescript/src/codec.js';
import { assertBuilt, runEvented } from '../helpers/cli.js';
import { eventedBin, repoRoot, typescriptTemplate } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { binFolder, startProcess } from '../helpers/processes.js';
import { linkRepoNodeModules, treeOf } from '../helpers/scaffold.js';
import { describeWith } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `evented init` as a user runs it: the built CLI in its own process. It scaffolds a project that is ready to
 * run (its own code generation, type check, tests and business logic, with this repository's packages standing
 * in for `npm install`), and refuses a bad flag or an occupied folder with one line, exit code 2 and nothing
 * written.
 */

const STACK_FRAME = /^\s+at /m;
const bin = (name: string): string => join(repoRoot, 'node_modules/.bin', name);
/** The languages there are templates for: the folders of templates/ holding a template.json. */
const languages = readdirSync(join(repoRoot, 'templates')).filter((lang) =>
  existsSync(join(repoRoot, 'templates', lang, 'template.json')),
);

beforeAll(() => assertBuilt());

/** A child environment without the variables of the vitest running this file (a nested vitest reads them), uncoloured. */
const cleanEnv = (): Record<string, string> => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && !/^(VITEST|TEST$|NODE_ENV$|FORCE_COLOR$)/.test(entry[0]),
    ),
  ),
  NO_COLOR: '1',
});

const run = (file: string, args: string[], cwd: string) =>
  execa(file, args, { cwd, env: cleanEnv(), extendEnv: false, reject: false, all: true, timeout: 90_000 });

/** Asks the scaffold's business logic, over gRPC, to open an account of `domain`; returns the events decided. */
const openAccount = (address: string, domain: string): Promise<EventBook> => {
  const client = new BusinessLogicClient(address, credentials.createInsecure());
  const cover = { domain, root: { value: uuidToBytes(randomUUID())! } };
  const request = {
    events: { cover, snapshot: undefined, pages: [] },
    command: {
      cover,
      pages: [
        { sequence: 0, synchronous: false, command: encodeCommand({ type: 'OpenAccount', owner: 'ada' }) },
      ],
    },
  };
  return new Promise<EventBook>((resolve, reject) =>
    client.handle(
      request,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null, book) => (err ? reject(err) : resolve(book)),
    ),
  ).finally(() => client.close());
};

describe('evented init', () => {
  it('scaffolds the project with the domain substituted, and prints what it created and the next steps', async () => {
    const cwd = tempDir();

    const { exitCode, stdout, stderr } = await runEvented(['init', 'bank', '--domain', 'ledger', '--yes'], {
      cwd,
    });

    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
    const project = join(cwd, 'bank');
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`Created bank in ${project} from the TypeScript template (domain ledger):`);
    expect(lines).toEqual(
      expect.arrayContaining(['  evented.yaml', '  src/business-logic.ts', '  .gitignore']),
    );
    const steps = lines.slice(lines.indexOf('Next steps:') + 1).filter((line) => line !== '');
    expect(steps.slice(0, 4)).toEqual(['  cd bank', '  npm install', '  npm run gen', '  npm test']);

    const config = parseConfigText(readFileSync(join(project, 'evented.yaml'), 'utf8'), 'evented.yaml');
    expect(Object.keys(config.domains)).toEqual(['ledger']);
    expect(config.projectors.accounts!.domains).toEqual(['ledger']);
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).name).toBe('bank');
    expect(lstatSync(join(project, 'proto/evented/evented.proto')).isFile()).toBe(true);
    expect(readFileSync(join(project, 'proto/evented/evented.proto'), 'utf8')).toBe(
      readFileSync(join(repoRoot, 'proto/evented/evented.proto'), 'utf8'),
    );
    expect(existsSync(join(project, 'src/gen'))).toBe(false);
    expect(existsSync(join(project, 'template.json'))).toBe(false);
    expect(readdirSync(cwd)).toEqual(['bank']);
  });

  it('scaffolds a project that is ready to run: code generation, type check and tests pass, and its business logic decides', async () => {
    const project = join(tempDir(), 'bank');
    expect((await runEvented(['init', project, '--domain', 'ledger', '--yes'])).exitCode).toBe(0);
    linkRepoNodeModules(project);

    const generated = await run(bin('buf'), ['generate'], project);
    expect(generated.exitCode, generated.all).toBe(0);
    expect(existsSync(join(project, 'src/gen/evented/evented.ts'))).toBe(true);
    expect(existsSync(join(project, 'src/gen/account/v1/account.ts'))).toBe(true);

    const typecheck = await run(bin('tsc'), ['-p', 'tsconfig.json'], project);
    expect(typecheck.exitCode, typecheck.all).toBe(0);

    const tests = await run(bin('vitest'), ['run', '--root', project], project);
    expect(tests.exitCode, tests.all).toBe(0);
    expect(tests.all).toMatch(/Tests\s+\d+ passed/);
    expect(tests.all).not.toMatch(/failed/);

    const businessLogic = startProcess(
      process.execPath,
      ['--import', 'tsx', 'src/business-logic.ts', '--port', '0'],
      {
        cwd: project,
      },
    );
    const [, address] = await businessLogic.waitFor(/business logic listening on (127\.0\.0\.1:\d+)/, 30_000);
    const decided = await openAccount(address!, 'ledger');
    expect(decided.pages.map((page) => decodeEvent(page.Event!))).toEqual([
      { type: 'AccountOpened', owner: 'ada' },
    ]);
    expect(await businessLogic.stop('SIGTERM')).toEqual({ exitCode: 0, signal: undefined });

    // The specs it ships pass, on the domain it was given: `evented test` starts the services itself (on ports
    // of their own here), from evented.yaml `processes`.
    const config = parseDocument(readFileSync(join(project, 'evented.yaml'), 'utf8'));
    const services: [string, string[]][] = [
      ['business-logic', ['domains', 'ledger', 'businessLogic']],
      ['projector', ['projectors', 'accounts', 'address']],
      ['saga', ['sagas', 'transfers', 'address']],
    ];
    for (const [name, addressKey] of services) {
      const port = await freePort();
      config.setIn(addressKey, `127.0.0.1:${port}`);
      config.setIn(['processes', name, 'readyOn'], `127.0.0.1:${port}`);
      config.setIn(['processes', name, 'env'], { PORT: String(port) });
    }
    writeFileSync(join(project, 'evented.yaml'), config.toString());
    const specs = await runEvented(['test'], { cwd: project });
    expect(specs.exitCode, specs.stdout + specs.stderr).toBe(0);
    expect(specs.stdout).toContain('specs/account/withdrawals.yaml (business logic of ledger)\n');
    expect(specs.stdout).toMatch(/^16 passed, 0 failed /m);
  }, 180_000);

  it('refuses a non-empty folder with exit code 2 and one line, writing nothing; with --force it adds the template files and keeps the others', async () => {
    const cwd = tempDir();
    const project = join(cwd, 'bank');
    expect((await runEvented(['init', project, '--yes'])).exitCode).toBe(0);
    writeFileSync(join(project, 'mine.txt'), 'mine\n');
    writeFileSync(join(project, 'evented.yaml'), 'name: edited\n');
    const before = treeOf(project);

    const refused = await runEvented(['init', project, '--domain', 'ledger', '--yes']);

    expect(refused.exitCode).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trimEnd().split('\n')).toEqual([
      `error: ${project} is not empty`,
      expect.stringMatching(/^ {2}hint: pass --force .* or choose another folder$/),
    ]);
    expect(treeOf(project)).toEqual(before);
    expect(readdirSync(cwd)).toEqual(['bank']);

    const forced = await runEvented(['init', project, '--force', '--yes']);

    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('  evented.yaml  (overwritten)\n');
    expect(readFileSync(join(project, 'mine.txt'), 'utf8')).toBe('mine\n');
    expect(readFileSync(join(project, 'evented.yaml'), 'utf8')).toBe(
      readFileSync(join(typescriptTemplate, 'evented.yaml'), 'utf8'),
    );
    expect(readdirSync(cwd)).toEqual(['bank']);
    expect(readdirSync(project).filter((name) => name.includes('evented-init'))).toEqual([]);
  });

  it.each([
    {
      problem: 'an unknown --lang, listing the languages',
      args: ['--lang', 'cobol'],
      line: `error: invalid --lang "cobol": there is no such template; the languages are: ${languages.join(', ')}`,
    },
    {
      problem: 'an invalid --domain, saying the rule',
      args: ['--domain', 'no spaces'],
      line: `error: invalid --domain "no spaces": a domain name starts with a letter or digit and has only letters, digits, '_', '.' and '-' (at most 128 characters)`,
    },
    {
      problem: 'an invalid --name, saying the rule',
      args: ['--name', 'Bank Project'],
      line: expect.stringMatching(
        /^error: invalid --name "Bank Project": a project name starts with a lowercase letter/,
      ),
    },
  ])('refuses $problem: exit code 2, one line and a hint, nothing written', async ({ args, line }) => {
    const cwd = tempDir();

    const { exitCode, stdout, stderr } = await runEvented(['init', 'bank', ...args, '--yes'], { cwd });

    expect(exitCode).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([line, expect.stringMatching(/^ {2}hint: for example --/)]);
    expect(stderr).not.toMatch(STACK_FRAME);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('refuses a target that is a file', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'bank'), 'a file\n');

    const { exitCode, stderr } = await runEvented(['init', 'bank', '--yes'], { cwd });

    expect(exitCode).toBe(2);
    expect(stderr.split('\n')[0]).toBe(`error: ${join(cwd, 'bank')} is a file, not a folder`);
    expect(readFileSync(join(cwd, 'bank'), 'utf8')).toBe('a file\n');
  });

  it('next steps run evented as `evented` once `npm link` put this one on PATH, else by its path, saying so', async () => {
    const cwd = tempDir();
    const bin = join(repoRoot, 'bin', 'evented.js');
    const stepsOf = (stdout: string): string[] => {
      const lines = stdout.split('\n');
      return lines.slice(lines.indexOf('Next steps:') + 1).filter((line) => line !== '');
    };

    // Not on PATH: the path of this evented's bin/evented.js, and how to put `evented` on PATH.
    const unlinked = await runEvented(['init', 'bank', '--yes'], {
      cwd,
      env: { PATH: binFolder(join(cwd, 'none'), { node: process.execPath }) },
    });
    expect(unlinked.exitCode).toBe(0);
    expect(stepsOf(unlinked.stdout).slice(-2)).toEqual([
      `  ${bin} up`,
      `(\`evented\` is not on your PATH: \`npm link\` in ${repoRoot.replace(/\/$/, '')} puts it there; until then, run it by its path, as above)`,
    ]);

    // On PATH as `npm link` puts it (a link to this evented's bin): `evented`, and nothing more to say.
    const linked = await runEvented(['init', 'ledger', '--yes', '--json'], {
      cwd,
      env: { PATH: binFolder(join(cwd, 'linked'), { evented: bin, node: process.execPath }) },
    });
    expect(JSON.parse(linked.stdout)).toMatchObject({
      evented: 'evented',
      nextSteps: ['cd ledger', 'npm install', 'npm run gen', 'npm test', 'evented up'],
    });
  });

  it('the Go template: next steps install the generators its README requires, then generate, test and run', async () => {
    const cwd = tempDir();
    const { exitCode, stdout } = await runEvented(['init', 'ledger', '--lang', 'go', '--json'], { cwd });
    expect(exitCode).toBe(0);
    const { nextSteps } = JSON.parse(stdout) as { nextSteps: string[] };
    const readme = readFileSync(join(cwd, 'ledger', 'README.md'), 'utf8');
    const installs = readme.split('\n').filter((line) => line.startsWith('go install '));
    expect(installs).toHaveLength(2);
    expect(nextSteps.slice(0, 6)).toEqual([
      'cd ledger',
      ...installs,
      'go generate ./...',
      'go mod tidy',
      'go test ./...',
    ]);
    // and the README names the module as go.mod does
    const module = /^module (\S+)$/m.exec(readFileSync(join(cwd, 'ledger', 'go.mod'), 'utf8'))![1];
    expect(module).toBe('ledger');
    expect(readme).toContain(`(\`ledger\`, as \`go.mod\` says)`);
    expect(readme).toContain('`$GOPATH/src/ledger`');
    expect(readme).not.toMatch(/\bbank\b(?! account)/);
  });

  it('lists the languages and an example in --help', async () => {
    const { exitCode, stdout } = await runEvented(['init', '--help']);

    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^Usage: evented init \[options\] <dir>/);
    const section = stdout.slice(stdout.indexOf('Languages (--lang):'));
    for (const lang of languages) expect(section).toMatch(new RegExp(`^ {2}${lang} +\\S`, 'm'));
    expect(stdout).toContain('evented init ./bank --domain ledger --yes');
    expect(stdout).toMatch(/--force/);
  });

  it('with --json, prints one JSON document describing what was created', async () => {
    const cwd = tempDir();

    const { exitCode, stdout, stderr } = await runEvented(['init', 'bank', '--json'], { cwd });

    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
    const result = JSON.parse(stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      target: join(cwd, 'bank'),
      lang: 'typescript',
      variables: { domain: 'account', name: 'bank' },
      nextSteps: expect.arrayContaining(['cd bank', 'npm install']),
    });
    expect(result.files).toEqual(expect.arrayContaining([{ path: 'evented.yaml', action: 'created' }]));
    expect(
      (result.files as { path: string }[]).every((file) => existsSync(join(cwd, 'bank', file.path))),
    ).toBe(true);
  });

  it('without a terminal, asks nothing and takes the defaults (project name from the folder)', async () => {
    const cwd = tempDir();

    const { exitCode, stdout, stderr } = await runEvented(['init', 'My Bank'], { cwd, input: 'ledger\n' });

    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(stdout).toContain("cd 'My Bank'");
    const config = parseConfigText(
      readFileSync(join(cwd, 'My Bank', 'evented.yaml'), 'utf8'),
      'evented.yaml',
    );
    expect(config.name).toBe('my-bank');
    expect(Object.keys(config.domains)).toEqual(['account']);
  });
});

/** A terminal for the CLI: util-linux `script` runs it on a pseudo-terminal fed from our pipe. */
const onTerminal = (args: string[], cwd: string) =>
  startProcess('script', ['-qec', [process.execPath, eventedBin, ...args].join(' '), '/dev/null'], { cwd });

describeWith('script', 'evented init on a terminal', () => {
  it('asks for the language and the domain, shows the defaults, asks again after an invalid answer', async () => {
    const cwd = tempDir();
    const init = onTerminal(['init', 'bank'], cwd);

    await init.waitFor(/Language \(typescript\): /);
    init.child.stdin!.write('\n');
    await init.waitFor(/Domain name \(account\): /);
    init.child.stdin!.write('no spaces\n');
    await init.waitFor(/at most 128 characters\)\s*\r?\n[^]*Domain name \(account\): /);
    init.child.stdin!.write('ledger\n');

    expect(await init.exited(), init.output()).toEqual({ exitCode: 0, signal: undefined });
    const config = parseConfigText(readFileSync(join(cwd, 'bank', 'evented.yaml'), 'utf8'), 'evented.yaml');
    expect(Object.keys(config.domains)).toEqual(['ledger']);
  });

  it('asks nothing when the flags are given, or with --yes', async () => {
    const cwd = tempDir();
    const init = onTerminal(['init', 'bank', '--yes'], cwd);

    expect(await init.exited(), init.output()).toEqual({ exitCode: 0, signal: undefined });
    expect(init.output()).not.toContain('Domain name');
    expect(init.output()).not.toContain('Language');
  });

  it('stops on Ctrl-C at a prompt with exit code 130, writing nothing', async () => {
    const cwd = tempDir();
    const init = onTerminal(['init', 'bank'], cwd);

    await init.waitFor(/Language \(typescript\): /);
    init.child.stdin!.write('\u0003');

    expect(await init.exited(), init.output()).toEqual({ exitCode: 130, signal: undefined });
    expect(init.output()).toMatch(/error: interrupted/);
    expect(readdirSync(cwd)).toEqual([]);
  });
});
