import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { LoggedCommand } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { projectDirOf, withAdmin } from '../remote/options.js';
import { parseAggregate } from './dlq.js';

/**
 * `evented test --record DOMAIN/UUID`: the aggregate's latest recorded commands (`--last N`, 1 by default, `all`
 * for every one), read from the running runtime's decision log, written as a spec file of the project
 * (specs/recorded/DOMAIN-UUID.yaml, or `--out`): each command on the events it was decided on, and what was
 * decided (cli/specs/record.ts). A file already there is never overwritten.
 */

export interface RecordOptions {
  dir?: string;
  record: string;
  last?: string;
  out?: string;
}

const lastOf = (text: string | undefined): number => {
  if (text === undefined) return 1;
  if (text === 'all') return 0;
  const last = Number(text);
  if (!Number.isInteger(last) || last < 1) {
    throw new UsageError(`--last ${text}: expected a number of commands (1 or more), or all`);
  }
  return last;
};

export const recordAggregate = async (context: CliContext, options: RecordOptions): Promise<void> => {
  const { domain, root } = parseAggregate(options.record, '--record');
  const last = lastOf(options.last);
  const projectDir = projectDirOf(context, options);
  const aggregate = `${domain}/${uuidFromBytes(root)}`;
  const path = options.out
    ? resolve(context.cwd, options.out)
    : join(projectDir, 'specs', 'recorded', `${domain}-${uuidFromBytes(root)}.yaml`);
  const { loadPayloadTypes } = await import('../protos/payloads.js');
  const { recordedSpec } = await import('../specs/record.js');
  const types = loadPayloadTypes(projectDir);

  const commands = await withAdmin(context, { dir: options.dir }, async (admin) => {
    const found: LoggedCommand[] = [];
    const request = { domain, root: { value: root }, since: undefined, after: 0, limit: 0, last };
    for await (const logged of admin.listCommands({ ...request, withHistory: true }, context.signal)) {
      found.push(logged);
    }
    return found;
  });
  if (commands.length === 0) {
    throw new CliError(
      `no recorded command for ${aggregate} in the decision log`,
      'the command handler records commands only with commandLog: true in evented.yaml, from when it is turned on',
    );
  }
  const text = recordedSpec(domain, aggregate, commands, types);
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, text, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new UsageError(
      `${path} is there already: evented test --record never overwrites a file`,
      'give --out another file, or remove it',
    );
  }
  const shown = relative(context.cwd, path) || path;
  const ids = commands.map((logged) => `#${logged.id}`);
  context.stdout.write(
    `wrote ${shown}: ${commands.length} case${commands.length === 1 ? '' : 's'} from the decision log (${ids.join(', ')})\n` +
      `run it with: evented test ${relative(projectDir, path)}\n`,
  );
};
