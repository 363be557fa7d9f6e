import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONSUL_PREFIX, DEFAULT_CONSUL_URL } from '../../runtime/config/sources/consul-defaults.js';
import type { ConsulConfigWrite, KeyChange } from '../../runtime/index.js';
import type { CliContext } from '../context.js';
import { findProjectDir } from '../local/project.js';

/**
 * `evented load-config [dir]`: validates the project's evented.yaml and writes it to Consul KV, one key per
 * section under `<prefix><name>/`, in one transaction; `--dry-run` shows the difference and writes nothing.
 */

interface LoadConfigOptions {
  consul?: string;
  prefix: string;
  dryRun?: boolean;
}

const examples = `
Examples:
  evented load-config ./bank --dry-run                    # what would change in Consul, line by line
  evented load-config ./bank --consul http://10.0.0.5:8500
  evented serve ./bank --consul http://10.0.0.5:8500      # a runtime reading it from there

Layout: one key per section, as YAML, e.g. evented/bank/commandHandler; change one with
  consul kv put evented/bank/commandHandler @command-handler.yaml
`;

const MARK: Record<KeyChange['change'], string> = { added: '+', changed: '~', removed: '-', unchanged: '=' };

export const registerLoadConfig = (program: Command, context: CliContext): void => {
  program
    .command('load-config')
    .description("validate the project's evented.yaml and write it to Consul KV, in one transaction")
    .argument('[dir]', 'the project folder, holding evented.yaml', '.')
    .option('--consul <url>', `the Consul agent (default: $CONSUL_HTTP_ADDR, else ${DEFAULT_CONSUL_URL})`)
    .option(
      '--prefix <prefix>',
      "the KV prefix; the project's keys go under <prefix><name>/",
      DEFAULT_CONSUL_PREFIX,
    )
    .option('--dry-run', 'print the difference with what Consul holds, and write nothing')
    .addHelpText('after', examples)
    .action(async (dir: string, options: LoadConfigOptions) => {
      const file = join(findProjectDir(context.cwd, dir), 'evented.yaml');
      const url = options.consul || context.env.CONSUL_HTTP_ADDR || DEFAULT_CONSUL_URL;
      const { writeConfigToConsul } = await import('../../runtime/index.js');
      const result = await writeConfigToConsul(
        file,
        { url, prefix: options.prefix },
        { dryRun: options.dryRun },
      );
      context.stdout.write(options.dryRun ? renderDiff(result) : renderWrite(result, options.prefix));
    });
};

const counts = (changes: KeyChange[]): string => {
  const count = (kind: KeyChange['change']): number => changes.filter((c) => c.change === kind).length;
  return `${count('added')} added, ${count('changed')} changed, ${count('removed')} removed, ${count('unchanged')} unchanged`;
};

const renderWrite = (result: ConsulConfigWrite, prefix: string): string => {
  const changed = result.changes.filter((c) => c.change !== 'unchanged');
  const prefixFlag = prefix === DEFAULT_CONSUL_PREFIX ? '' : ` --prefix ${prefix}`;
  const head = result.written
    ? `Wrote the configuration of ${result.name} to Consul at ${result.url}, under ${result.folder}, in one transaction:`
    : `Consul at ${result.url} already holds this configuration under ${result.folder}; nothing to write.`;
  return [
    head,
    ...changed.map((c) => `  ${MARK[c.change]} ${c.key}`),
    `  (${counts(result.changes)})`,
    `A runtime reads it with: evented serve --consul ${result.url}${prefixFlag} --name ${result.name}`,
    '',
  ].join('\n');
};

const renderDiff = (result: ConsulConfigWrite): string => {
  const changed = result.changes.filter((c) => c.change !== 'unchanged');
  const body = changed.flatMap((c) => [
    `${MARK[c.change]} ${c.key}`,
    ...lineDiff(lines(c.before), lines(c.after)).map((line) => `    ${line}`),
  ]);
  return [
    `Dry run: evented.yaml against Consul at ${result.url}, under ${result.folder} (nothing written):`,
    ...(changed.length === 0 ? ['no differences'] : body),
    `(${counts(result.changes)})`,
    '',
  ].join('\n');
};

const lines = (text: string | undefined): string[] => (text ? text.replace(/\n$/, '').split('\n') : []);

/** Both texts, line by line: "  " kept, "- " only before, "+ " only after (longest common subsequence). */
const lineDiff = (before: string[], after: string[]): string[] => {
  const common: number[][] = Array.from({ length: before.length + 1 }, () =>
    new Array<number>(after.length + 1).fill(0),
  );
  for (let i = before.length - 1; i >= 0; i--) {
    for (let j = after.length - 1; j >= 0; j--) {
      common[i]![j] =
        before[i] === after[j]
          ? common[i + 1]![j + 1]! + 1
          : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let [i, j] = [0, 0];
  while (i < before.length || j < after.length) {
    if (i < before.length && j < after.length && before[i] === after[j]) {
      out.push(`  ${before[i++]}`);
      j++;
    } else if (i < before.length && (j === after.length || common[i + 1]![j]! >= common[i]![j + 1]!)) {
      out.push(`- ${before[i++]}`);
    } else {
      out.push(`+ ${after[j++]}`);
    }
  }
  return out;
};
