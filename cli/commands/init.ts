import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { applyScaffold, checkTarget, type AppliedFile } from '../scaffold/apply.js';
import { createPrompter } from '../scaffold/prompt.js';
import { listLanguages, loadTemplate, templatesFolder, type Template } from '../scaffold/template.js';
import { chooseVariables, DEFAULT_LANG, type ScaffoldVariables } from '../scaffold/variables.js';
import { eventedInvocation, type Invocation } from '../local/invocation.js';

/** `evented init <dir>`: a new business-logic project from templates/<lang>, ready to run. */

interface InitOptions {
  lang?: string;
  domain?: string;
  name?: string;
  yes?: boolean;
  force?: boolean;
  json?: boolean;
}

/** After the options: the languages (one per templates/<lang>/template.json) and examples. */
const helpAfter = (): string => {
  const dir = templatesFolder();
  const lines = listLanguages(dir).map((lang) => {
    const template = loadTemplate(dir, lang);
    return `  ${lang.padEnd(12)}${template.displayName}: ${template.description}`;
  });
  return `\nLanguages (--lang):\n${lines.join('\n')}\n\nExamples:\n  evented init ./bank --domain ledger --yes\n  evented init ./bank --lang typescript --name bank --json\n`;
};

const shellWord = (text: string): string =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;

const nextSteps = (template: Template, target: string, cwd: string, evented: Invocation): string[] => {
  const rel = relative(cwd, target) || '.';
  const dir = shellWord(rel.startsWith('..') ? target : rel);
  return template.nextSteps
    .map((step) => step.replaceAll('{{dir}}', dir).replaceAll('{{evented}}', evented.command))
    .filter((step) => step !== 'cd .');
};

/** When `evented` is not on PATH, the steps use the path of this one, and say how to have it on PATH. */
const pathNote = (evented: Invocation): string[] =>
  evented.onPath
    ? []
    : [
        '',
        `(\`evented\` is not on your PATH: \`npm link\` in ${evented.packageDir} puts it there; until then, run it by its path, as above)`,
      ];

export const registerInit = (program: Command, context: CliContext): void => {
  program
    .command('init')
    .description('create a business-logic project (business logic, projector, saga, tests) from a template')
    .argument('<dir>', 'the folder to create (or an empty one)')
    .option('--lang <lang>', `the template's language (default: ${DEFAULT_LANG})`)
    .option('--domain <name>', 'the domain name, as in evented.yaml (default: account)')
    .option('--name <project>', "the project name (default: the folder's name)")
    .option('--yes', 'ask nothing: take the defaults of missing flags')
    .option('--force', 'write into a non-empty folder: template files overwrite; other files stay')
    .option('--json', 'print one JSON document describing what was created (asks nothing)')
    .addHelpText('after', helpAfter)
    .action(async (dir: string, options: InitOptions) => {
      const target = resolve(context.cwd, dir);
      checkTarget(target, { force: options.force });
      const stdin = context.stdin;
      const asking = stdin.isTTY === true && !options.yes && !options.json;
      const prompter = asking ? createPrompter(stdin, context.stderr, context.signal) : undefined;
      const { template, vars } = await chooseVariables(options, templatesFolder(), target, prompter).finally(
        () => prompter?.close(),
      );
      const { planScaffold } = await import('../scaffold/plan.js');
      const files = applyScaffold(planScaffold(template, vars), target, { force: options.force });
      const evented = eventedInvocation(template.packageDir, context.env);
      const steps = nextSteps(template, target, context.cwd, evented);
      context.stdout.write(
        options.json
          ? `${JSON.stringify({ target, lang: template.lang, variables: vars, files, nextSteps: steps, evented: evented.command }, null, 2)}\n`
          : report(template, vars, target, files, [
              ...steps.map((step) => `  ${step}`),
              ...pathNote(evented),
            ]),
      );
    });
};

const report = (
  template: Template,
  vars: ScaffoldVariables,
  target: string,
  files: AppliedFile[],
  steps: string[],
): string =>
  [
    `Created ${vars.name} in ${target} from the ${template.displayName} template (domain ${vars.domain}):`,
    ...files.map((file) => `  ${file.path}${file.action === 'overwritten' ? '  (overwritten)' : ''}`),
    '',
    'Next steps:',
    ...steps,
    '',
  ].join('\n');
