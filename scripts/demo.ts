// The main job on the embedded defaults, end to end, through the CLI exactly as a user types it:
//   evented init → evented up --detach → evented send … → evented tail events → evented trace → evented status
//   → evented rebuild accounts → evented down
// The project is scaffolded under .demo/ in this repository (so that its services find this repository's
// node_modules: no `npm install`), and removed at the end. Run with `npm run demo`.
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = fileURLToPath(new URL('..', import.meta.url));
const project = join(root, '.demo', 'bank');

/** Runs `evented ARGS` in the project, shows the command and what it printed; returns its stdout. */
const evented = async (args: string[], options: { expectFailure?: boolean } = {}): Promise<string> => {
  const shown = args.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg}'`)).join(' ');
  console.log(`\n$ evented ${shown}`);
  const result = await execa(process.execPath, [join(root, 'bin/evented.js'), ...args], {
    cwd: project,
    reject: false,
    all: true,
    timeout: 120_000,
  });
  const output = result.all.trimEnd();
  if (output) console.log(output.replace(/^/gm, '  '));
  if ((result.exitCode !== 0) !== (options.expectFailure === true)) {
    throw new Error(`evented ${shown} exited ${result.exitCode}`);
  }
  return result.stdout;
};

const rootOf = (sendOutput: string): string => /aggregate ([0-9a-f-]{36})/.exec(sendOutput)![1]!;

const main = async (): Promise<void> => {
  rmSync(join(root, '.demo'), { recursive: true, force: true });
  await execa(process.execPath, [join(root, 'bin/evented.js'), 'init', project, '--yes'], { cwd: root });
  console.log(`scaffolded ${project} (evented init .demo/bank --yes)`);
  // What `npm run gen` would generate in the project: the template's generated code, made by this repository's
  // `npm run gen`.
  cpSync(join(root, 'templates/typescript/src/gen'), join(project, 'src/gen'), { recursive: true });

  try {
    await evented(['up', '--detach']);
    const ada = rootOf(await evented(['send', 'account', 'new', 'OpenAccount', '{"owner": "Ada Lovelace"}']));
    const bob = rootOf(await evented(['send', 'account', 'new', 'OpenAccount', '{"owner": "Bob"}']));
    await evented(['send', 'account', ada, 'Deposit', '{"amount": 10000}']);
    await evented(['send', 'account', ada, 'Withdraw', '{"amount": 50000}'], { expectFailure: true });
    await evented([
      'send',
      'account',
      ada,
      'TransferMoney',
      JSON.stringify({ toAccount: bob, amount: 2500 }),
      '--correlation-id',
      'demo-transfer-1',
    ]);
    // The transfers saga credits Bob through the business logic, a moment later.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await evented(['tail', 'events', '--no-follow']);
    // What the transfer caused, from the store: its event, the saga's command to Bob's account, who applied what.
    await evented(['trace', 'demo-transfer-1']);
    await evented(['status']);
    await evented(['rebuild', 'accounts']);
    console.log('\nthe projector’s read model (read-model/accounts.json):');
    console.log(readFileSync(join(project, 'read-model/accounts.json'), 'utf8').replace(/^/gm, '  '));
  } finally {
    await evented(['down']);
    rmSync(join(root, '.demo'), { recursive: true, force: true });
  }
};

main().then(
  () => console.log('\ndemo finished: everything `evented up` started has stopped.'),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
