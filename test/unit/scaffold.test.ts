import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError, UsageError } from '../../cli/errors.js';
import { applyScaffold } from '../../cli/scaffold/apply.js';
import { planScaffold, type FileOp } from '../../cli/scaffold/plan.js';
import { listLanguages, loadTemplate, templatesFolder, type Template } from '../../cli/scaffold/template.js';
import { defaultOf, projectNameFrom } from '../../cli/scaffold/variables.js';
import { parseConfigText } from '../../runtime/index.js';
import { repoRoot, typescriptTemplate } from '../helpers/paths.js';
import { treeOf } from '../helpers/scaffold.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The scaffolder: planScaffold turns a template folder into the list of files to write (pure), applyScaffold
 * writes them, all or nothing. Run on the real TypeScript template, and on small fake templates that try to
 * write outside the target.
 */

const typescript = (): Template => loadTemplate(templatesFolder(), 'typescript');
const contentOf = (ops: FileOp[], path: string): string => {
  const op = ops.find((o) => o.path === path);
  if (!op) throw new Error(`the plan has no ${path}; it has ${ops.map((o) => o.path).join(', ')}`);
  return op.content.toString('utf8');
};
const templateFile = (path: string): string => readFileSync(join(typescriptTemplate, path), 'utf8');

/** A templates folder with one template `fake`: `files` (path → content), `links` (path → symlink target). */
const fakeTemplate = (
  manifest: object,
  files: Record<string, string> = {},
  links: Record<string, string> = {},
): Template => {
  const root = tempDir('evented-fake-');
  const dir = join(root, 'templates', 'fake');
  const write = (path: string, content: string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  };
  write(join(root, 'proto', 'shared.proto'), 'syntax = "proto3";\n');
  write(join(root, 'secret.txt'), 'not for scaffolds\n');
  write(
    join(dir, 'template.json'),
    JSON.stringify({ displayName: 'Fake', description: 'a test template', ...manifest }),
  );
  for (const [path, content] of Object.entries(files)) write(join(dir, path), content);
  for (const [path, to] of Object.entries(links)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    symlinkSync(to, join(dir, path));
  }
  return loadTemplate(join(root, 'templates'), 'fake');
};
const VARIABLES = {
  domain: { description: 'the domain', default: 'account' },
  name: { description: 'the project', default: '{{folder}}' },
};

const planError = (template: Template): CliError => {
  try {
    planScaffold(template, { domain: 'ledger', name: 'bank' });
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('the plan was accepted');
};

describe('the TypeScript template', () => {
  it('is listed as a language', () => {
    expect(listLanguages(templatesFolder())).toContain('typescript');
    expect(typescript().variables.domain.default).toBe('account');
  });

  it('plans the business logic, projector, saga, tests, README and configuration, and not the generated code', () => {
    const ops = planScaffold(typescript(), { domain: 'account', name: 'bank' });
    const paths = ops.map((op) => op.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'src/business-logic.ts',
        'src/projector.ts',
        'src/saga.ts',
        'src/domain.ts',
        'test/domain.test.ts',
        'test/business-logic.test.ts',
        'test/projector-and-saga.test.ts',
        'README.md',
        'evented.yaml',
        'package.json',
        'buf.gen.yaml',
        'proto/account/v1/account.proto',
        'proto/evented/evented.proto',
        '.gitignore',
      ]),
    );
    expect(paths.filter((p) => /(^|\/)(node_modules|gen|dist|read-model|\.evented)(\/|$)/.test(p))).toEqual(
      [],
    );
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths).not.toContain('_gitignore');
    expect(paths).not.toContain('template.json');
    expect(contentOf(ops, '.gitignore')).toBe(templateFile('_gitignore'));
    expect(contentOf(ops, '.gitignore').split('\n')).toEqual(
      expect.arrayContaining(['node_modules/', 'src/gen/']),
    );
  });

  it('copies evented.proto (a symlink in the template) as a real file with the repository contract’s content', () => {
    expect(lstatSync(join(typescriptTemplate, 'proto/evented/evented.proto')).isSymbolicLink()).toBe(true);
    const ops = planScaffold(typescript(), { domain: 'account', name: 'bank' });
    expect(contentOf(ops, 'proto/evented/evented.proto')).toBe(
      readFileSync(join(repoRoot, 'proto/evented/evented.proto'), 'utf8'),
    );
  });

  it('with the template’s own values, is the template itself (only package.json is renamed)', () => {
    const ops = planScaffold(typescript(), { domain: 'account', name: 'bank' });
    for (const op of ops.filter((o) => o.path !== 'package.json')) {
      expect(op.content.toString('utf8'), op.path).toBe(templateFile(op.from));
    }
    expect(JSON.parse(contentOf(ops, 'package.json'))).toEqual({
      ...JSON.parse(templateFile('package.json')),
      name: 'bank',
    });
  });

  it('substitutes the domain exactly: the domain in evented.yaml and the saga, nothing that merely contains it', () => {
    const ops = planScaffold(typescript(), { domain: 'ledger', name: 'bank' });

    const config = parseConfigText(contentOf(ops, 'evented.yaml'), 'evented.yaml');
    expect(config.name).toBe('bank');
    expect(Object.keys(config.domains)).toEqual(['ledger']);
    expect(Object.keys(config.projectors)).toEqual(['accounts']);
    expect(config.projectors.accounts!.domains).toEqual(['ledger']);
    expect(config.sagas.transfers!.domains).toEqual(['ledger']);
    expect(contentOf(ops, 'evented.yaml').replaceAll('ledger', 'account')).toBe(templateFile('evented.yaml'));

    const saga = contentOf(ops, 'src/saga.ts');
    expect(saga).toContain("book.cover?.domain ?? 'ledger'");
    expect(saga.replace("?? 'ledger'", "?? 'account'")).toBe(templateFile('src/saga.ts'));

    // The specs name the domain as their business logic's target and as the domain of the saga's command.
    const specs = ops.filter((o) => o.path.startsWith('specs/'));
    expect(specs.map((o) => o.path)).toEqual([
      'specs/account/accounts-projector.yaml',
      'specs/account/deposits.yaml',
      'specs/account/opening.yaml',
      'specs/account/transfers-saga.yaml',
      'specs/account/transfers.yaml',
      'specs/account/withdrawals.yaml',
    ]);
    for (const spec of specs) {
      const text = spec.content.toString('utf8');
      expect(text.replaceAll(': ledger', ': account'), spec.path).toBe(templateFile(spec.from));
    }
    expect(contentOf(ops, 'specs/account/deposits.yaml')).toContain('businessLogic: ledger\n');
    expect(contentOf(ops, 'specs/account/transfers-saga.yaml')).toContain('- domain: ledger\n');

    const substituted = ['evented.yaml', 'src/saga.ts', 'package.json', ...specs.map((o) => o.path)];
    for (const op of ops.filter((o) => !substituted.includes(o.path))) {
      expect(op.content.toString('utf8'), op.path).toBe(templateFile(op.from));
    }
    expect(JSON.parse(contentOf(ops, 'package.json')).name).toBe('bank');
  });

  it.each(['python', 'go', 'java'])(
    'shares its specs with the %s template: the same files, the domain substituted the same way',
    (lang) => {
      const vars = { domain: 'ledger', name: 'bank' };
      const specsOf = (ops: FileOp[]) =>
        ops.filter((o) => o.path.startsWith('specs/')).map((o) => [o.path, o.content.toString('utf8')]);
      const ours = specsOf(planScaffold(typescript(), vars));
      expect(ours.length).toBeGreaterThan(0);
      expect(specsOf(planScaffold(loadTemplate(templatesFolder(), lang), vars))).toEqual(ours);
    },
  );

  it.each(['123', '1e3', 'true', 'null', '0x1F', 'a.b-c_d'])(
    'keeps the domain "%s" a string in evented.yaml (quoting it where YAML would read a number or boolean)',
    (domain) => {
      const ops = planScaffold(typescript(), { domain, name: '2024' });
      const config = parseConfigText(contentOf(ops, 'evented.yaml'), 'evented.yaml');
      expect(config.name).toBe('2024');
      expect(Object.keys(config.domains)).toEqual([domain]);
      expect(config.projectors.accounts!.domains).toEqual([domain]);
      expect(config.sagas.transfers!.domains).toEqual([domain]);
    },
  );

  it('names the project after the folder by default', () => {
    expect(defaultOf(typescript(), 'name', 'bank')).toBe('bank');
    expect(projectNameFrom('My Bank!')).toBe('my-bank');
    expect(projectNameFrom('_x')).toBe('x');
    expect(projectNameFrom('%%%')).toBe('evented-project');
  });
});

describe('a template that would write outside the target', () => {
  it.each([
    ['a rename with ".." segments', '../escaped.txt'],
    ['a rename with ".." inside the path', 'sub/../../escaped.txt'],
    ['a rename with a Windows ".." segment', 'sub\\..\\..\\escaped.txt'],
    ['an absolute rename', '/tmp/escaped.txt'],
    ['a rename into .git', '.git/hooks/pre-commit'],
  ])('is rejected: %s', (_, to) => {
    const template = fakeTemplate({ variables: VARIABLES, rename: { 'a.txt': to } }, { 'a.txt': 'a\n' });
    expect(planError(template).message).toMatch(
      /^template fake: a\.txt would be written (to ".*", outside the target folder|into \.git)$/,
    );
  });

  it('is rejected: a symlink to /etc/passwd', () => {
    const template = fakeTemplate({ variables: VARIABLES }, { 'a.txt': 'a\n' }, { passwd: '/etc/passwd' });
    expect(planError(template).message).toMatch(
      /^template fake: passwd links to .*, outside the templates and proto folders$/,
    );
  });

  it('is rejected: a relative symlink out of the package’s allowed folders, or to nothing, or to a folder', () => {
    expect(
      planError(fakeTemplate({ variables: VARIABLES }, {}, { 'secret.txt': '../../secret.txt' })).message,
    ).toMatch(/secret\.txt links to .*secret\.txt, outside the templates and proto folders/);
    expect(
      planError(fakeTemplate({ variables: VARIABLES }, {}, { 'gone.txt': 'nowhere.txt' })).message,
    ).toMatch(/gone\.txt is a symbolic link to nothing/);
    expect(planError(fakeTemplate({ variables: VARIABLES }, {}, { up: '..' })).message).toMatch(
      /up links to a folder/,
    );
  });

  it('may link into the package’s proto folder: the scaffold gets a real file', () => {
    const template = fakeTemplate(
      { variables: VARIABLES },
      {},
      { 'proto/shared.proto': '../../../proto/shared.proto' },
    );
    const ops = planScaffold(template, { domain: 'ledger', name: 'bank' });
    expect(ops.map((op) => [op.path, op.content.toString()])).toEqual([
      ['proto/shared.proto', 'syntax = "proto3";\n'],
    ]);
  });

  it('copies a shared file from the package even where the template’s symlink is gone (npm pack drops them)', () => {
    const shared = { 'proto/shared.proto': 'proto/shared.proto' };
    const template = fakeTemplate({ variables: VARIABLES, shared }, { 'a.txt': 'a\n' });
    const ops = planScaffold(template, { domain: 'ledger', name: 'bank' });
    expect(ops.map((op) => [op.path, op.content.toString()])).toEqual([
      ['a.txt', 'a\n'],
      ['proto/shared.proto', 'syntax = "proto3";\n'],
    ]);
  });

  it('substitutes in a shared file as in its own files, by the shared file’s path in the scaffold', () => {
    const shared = { 'proto/shared.proto': 'proto/shared.proto' };
    const substitute = [{ file: 'proto/shared.proto', find: 'proto3', replace: '{{domain}}', count: 1 }];
    const template = fakeTemplate({ variables: VARIABLES, shared, substitute });
    const ops = planScaffold(template, { domain: 'ledger', name: 'bank' });
    expect(ops.map((op) => [op.path, op.content.toString()])).toEqual([
      ['proto/shared.proto', 'syntax = "ledger";\n'],
    ]);
  });

  it('is rejected: a shared file outside the templates and proto folders, or shared to outside the target', () => {
    expect(
      planError(fakeTemplate({ variables: VARIABLES, shared: { 'secret.txt': 'secret.txt' } })).message,
    ).toMatch(/^template fake: secret\.txt links to .*secret\.txt, outside the templates and proto folders$/);
    expect(
      planError(fakeTemplate({ variables: VARIABLES, shared: { '../x.proto': 'proto/shared.proto' } }))
        .message,
    ).toMatch(/would be written to "\.\.\/x\.proto", outside the target folder/);
  });

  it('fails loudly when a substitution does not find its text exactly as often as template.json says', () => {
    const template = fakeTemplate(
      {
        variables: VARIABLES,
        substitute: [{ file: 'a.yaml', find: 'account', wholeWord: true, replace: '{{domain}}', count: 3 }],
      },
      { 'a.yaml': 'account: [accounts, account.v1, my-account, account]\n' },
    );
    expect(planError(template).message).toBe(
      'template fake: a.yaml: expected "account" 3 time(s), found it 2 time(s)',
    );
  });

  it('substitutes on the original text only: a value put in is never matched again', () => {
    const template = fakeTemplate(
      {
        variables: VARIABLES,
        substitute: [
          { file: 'a.yaml', find: 'name: bank', replace: 'name: {{name}}', count: 1, encode: 'yaml' },
          {
            file: 'a.yaml',
            find: 'account',
            wholeWord: true,
            replace: '{{domain}}',
            count: 1,
            encode: 'yaml',
          },
        ],
      },
      { 'a.yaml': 'name: bank\ndomain: account\n' },
    );
    const ops = planScaffold(template, { domain: 'x', name: 'account' });
    expect(ops[0]!.content.toString()).toBe('name: account\ndomain: x\n');
  });

  it('excludes by name at any depth, and by path from the top', () => {
    const template = fakeTemplate(
      { variables: VARIABLES, exclude: ['node_modules', 'src/gen'] },
      { 'a/node_modules/x.js': '', 'src/gen/x.ts': '', 'lib/src/gen/y.ts': 'kept\n', 'src/main.ts': '' },
    );
    expect(planScaffold(template, { domain: 'a', name: 'b' }).map((op) => op.path)).toEqual([
      'lib/src/gen/y.ts',
      'src/main.ts',
    ]);
  });
});

describe('applyScaffold', () => {
  const op = (path: string, content = `${path}\n`, executable = false): FileOp => ({
    path,
    from: path,
    content: Buffer.from(content),
    executable,
  });

  it('creates the target and its missing parents, keeps executable bits, and leaves nothing beside it', () => {
    const root = tempDir();
    const target = join(root, 'deep', 'bank');
    const applied = applyScaffold([op('a.txt'), op('bin/run.sh', '#!/bin/sh\n', true)], target);
    expect(applied).toEqual([
      { path: 'a.txt', action: 'created' },
      { path: 'bin/run.sh', action: 'created' },
    ]);
    expect(treeOf(root)).toEqual({
      'deep/': '',
      'deep/bank/': '',
      'deep/bank/a.txt': 'a.txt\n',
      'deep/bank/bin/': '',
      'deep/bank/bin/run.sh': '#!/bin/sh\n',
    });
    expect(statSync(join(target, 'bin/run.sh')).mode & 0o111).not.toBe(0);
    expect(statSync(join(target, 'a.txt')).mode & 0o111).toBe(0);
  });

  it('writes the real TypeScript plan, symlink resolved, into a folder holding only .git', () => {
    const target = tempDir();
    mkdirSync(join(target, '.git'));
    applyScaffold(planScaffold(typescript(), { domain: 'ledger', name: 'bank' }), target);
    expect(statSync(join(target, 'proto/evented/evented.proto')).isFile()).toBe(true);
    expect(existsSync(join(target, '.gitignore'))).toBe(true);
  });

  it('refuses a non-empty folder without force, and a file, writing nothing', () => {
    const target = tempDir();
    writeFileSync(join(target, 'mine.txt'), 'mine\n');
    expect(() => applyScaffold([op('a.txt')], target)).toThrow(UsageError);
    expect(() => applyScaffold([op('a.txt')], target)).toThrow(`${target} is not empty`);
    expect(() => applyScaffold([op('a.txt')], join(target, 'mine.txt'))).toThrow(
      `${target}/mine.txt is a file, not a folder`,
    );
    expect(treeOf(target)).toEqual({ 'mine.txt': 'mine\n' });
  });

  it('with force, overwrites the template’s files and keeps the others', () => {
    const target = tempDir();
    writeFileSync(join(target, 'mine.txt'), 'mine\n');
    writeFileSync(join(target, 'a.txt'), 'old\n');
    const applied = applyScaffold([op('a.txt'), op('b/c.txt')], target, { force: true });
    expect(applied).toEqual([
      { path: 'a.txt', action: 'overwritten' },
      { path: 'b/c.txt', action: 'created' },
    ]);
    expect(treeOf(target)).toEqual({
      'mine.txt': 'mine\n',
      'a.txt': 'a.txt\n',
      'b/': '',
      'b/c.txt': 'b/c.txt\n',
    });
  });

  it('leaves nothing when a file cannot be written, in a new folder or an existing one', () => {
    const root = tempDir();
    const broken = [op('a.txt'), op('z'), op('z/under-a-file.txt')];
    expect(() => applyScaffold(broken, join(root, 'new', 'bank'))).toThrow(CliError);
    expect(treeOf(root)).toEqual({});

    const target = tempDir();
    writeFileSync(join(target, 'a.txt'), 'old\n');
    expect(() => applyScaffold(broken, target, { force: true })).toThrow(/^cannot write /);
    expect(treeOf(target)).toEqual({ 'a.txt': 'old\n' });
  });

  it('refuses to write through a symlinked folder of an existing target, or where a file or folder is in the way', () => {
    const outside = tempDir();
    const target = tempDir();
    symlinkSync(outside, join(target, 'src'));
    writeFileSync(join(target, 'lib'), 'a file\n');
    mkdirSync(join(target, 'README.md'));
    const before = treeOf(target);
    expect(() => applyScaffold([op('src/x.ts')], target, { force: true })).toThrow(/src is a symbolic link/);
    expect(() => applyScaffold([op('lib/x.ts')], target, { force: true })).toThrow(
      /lib is a file; the template has a folder there/,
    );
    expect(() => applyScaffold([op('README.md')], target, { force: true })).toThrow(/README\.md is a folder/);
    expect(treeOf(outside)).toEqual({});
    expect(treeOf(target)).toEqual(before);
  });

  it('checks again that every destination is inside the target', () => {
    const root = tempDir();
    expect(() => applyScaffold([op('../escaped.txt')], join(root, 'bank'))).toThrow(/outside/);
    expect(treeOf(root)).toEqual({});
  });

  it('writes files the user can edit, even from a read-only template', () => {
    const template = fakeTemplate({ variables: VARIABLES }, { 'a.txt': 'a\n' });
    chmodSync(join(template.dir, 'a.txt'), 0o444);
    const target = join(tempDir(), 'bank');
    applyScaffold(planScaffold(template, { domain: 'a', name: 'b' }), target);
    expect(statSync(join(target, 'a.txt')).mode & 0o200).not.toBe(0);
  });
});
