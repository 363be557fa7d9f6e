// Lint keeps the layout honest: the import rules below are the dependency table of DESIGN.md/STYLE.md.
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

const driverPackages = ['better-sqlite3', 'pg', '/mongodb', 'mongodb-memory-server*', 'amqplib', 'consul'];
const uiPackages = ['ink', 'react', 'commander', 'ink-testing-library'];

const restrict = (patterns) => ['error', { patterns }];

/**
 * What cli/ may import from runtime/ besides index.ts: the protocol, and small modules that keep every CLI
 * start fast. index.ts loads the whole runtime (servers, drivers, config schema): types only at the top of a
 * module, values inside an action (`await import(...)`, which this rule does not see).
 */
const runtimeForCli = [
  'protocol/**',
  'errors/index.js',
  'grpc/unary.js',
  'up/flags.js',
  'support/signals.js',
  'support/process-id.js',
  'support/ranges.js',
  'support/rate.js',
  'config/sources', // the folder itself, so that the files below can be let through (gitignore rules)
  'config/sources/consul-defaults.js',
  'config/sources/file.js',
  'config/from-env.js',
  'config/security.js',
  'grpc/client-credentials.js',
];

/**
 * Tests that must not pass by accident: a test does not decide by itself to do less. Every condition goes through
 * test/helpers/services.ts (describeWith, itWith, describeWithToolchain), which records why something did not
 * run for the summary and fails instead when EVENTED_TEST_REQUIRE names the requirement.
 */
const noSilentSkip = {
  message:
    'a test never skips itself: use describeWith / itWith / describeWithToolchain (test/helpers/services.ts), which report what did not run and fail under EVENTED_TEST_REQUIRE.',
};
const testSkips = [
  // it.skip, describe.runIf(…), it.skipIf(…), test.only, it.todo, context.skip(…), it.concurrent.skip, …
  { selector: 'MemberExpression[property.name=/^(skip|skipIf|runIf|only|todo)$/]', ...noSilentSkip },
  // it('…', { skip: true }, …)
  {
    selector:
      'CallExpression[callee.name=/^(it|test|describe|suite)$/] ObjectExpression > Property[key.name=/^(skip|only|todo)$/]',
    ...noSilentSkip,
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'runtime/protocol/gen/', 'templates/*/src/gen/', 'coverage/'] },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts', 'templates/typescript/test/**/*.ts'],
    ignores: ['test/helpers/services.ts'],
    rules: { 'no-restricted-syntax': ['error', ...testSkips] },
  },
  {
    files: ['runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['**/cli/**', '../cli/*'], message: 'runtime/ never imports cli/.' },
        { group: uiPackages, message: 'runtime/ knows nothing of terminals.' },
        { group: driverPackages, message: 'drivers belong to their adapter folder.' },
      ]),
    },
  },
  {
    files: ['runtime/store/sqlite/**/*.ts'],
    rules: { 'no-restricted-imports': restrict([{ group: ['pg', 'mongodb', 'amqplib', ...uiPackages] }]) },
  },
  {
    files: ['runtime/store/postgres/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([{ group: ['better-sqlite3', 'mongodb', 'amqplib', ...uiPackages] }]),
    },
  },
  {
    files: ['runtime/store/mongodb/**/*.ts', 'runtime/infra/mongo/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([{ group: ['better-sqlite3', 'pg', 'amqplib', ...uiPackages] }]),
    },
  },
  {
    files: ['runtime/bus/amqp/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([{ group: ['better-sqlite3', 'pg', 'mongodb', ...uiPackages] }]),
    },
  },
  {
    files: ['runtime/config/sources/consul.ts'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['better-sqlite3', 'pg', 'mongodb', 'amqplib', ...uiPackages] },
      ]),
    },
  },
  {
    files: ['runtime/{command,query,relay,projector,saga}/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/store/*/**', '**/bus/*/**', '**/up/**', '**/infra/**'],
          message: 'use cases see ports only; adapters are chosen in runtime/up.',
        },
        { group: [...driverPackages, ...uiPackages] },
      ]),
    },
  },
  {
    files: ['cli/ui/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': restrict([
        { group: ['**/runtime/**'], message: 'ui components receive data through props.' },
      ]),
    },
  },
  {
    files: ['cli/**/*.{ts,tsx}'],
    ignores: ['cli/ui/**'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['**/runtime/*/**', ...runtimeForCli.map((path) => `!**/runtime/${path}`)],
          message: 'cli/ imports runtime/index.ts and the modules of runtimeForCli (eslint.config.js) only.',
        },
        {
          group: ['**/runtime/index.js'],
          allowTypeImports: true,
          message: 'the whole runtime: import its values inside an action, with await import(...).',
        },
        { group: driverPackages },
      ]),
    },
  },
  {
    // The pages run in a browser: they see the server only through its HTTP API, whose types they share.
    files: ['console/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: [
            '**/runtime/*',
            '**/runtime/*/**',
            '**/cli/**',
            '!**/runtime/console',
            '!**/runtime/console/api.js',
          ],
          message:
            'console/ talks to the server over HTTP: it imports types from runtime/console/api.ts only.',
        },
        {
          group: ['**/runtime/console/api.js'],
          allowTypeImports: true,
          message: 'types only: the pages share the API contract, not the runtime.',
        },
        { group: [...driverPackages, ...uiPackages, 'node:*'] },
      ]),
    },
  },
);
