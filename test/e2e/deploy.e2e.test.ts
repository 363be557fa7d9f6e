import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, errorLines, runEvented, writeConfig } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** `evented deploy kubernetes` as a user runs it: files in the project (or --out), or one stream on stdout. */

const STACK_FRAME = /^\s+at /m;

const PROJECT = `
name: bank
store: { kind: postgres, url: "postgres://evented:hunter2@pg:5432/bank" }
bus: { kind: amqp, url: "amqp://rabbit:5672" }
domains:
  account: { businessLogic: "account-logic:1737" }
sagas:
  transfers: { address: "transfers:1749", domains: [account] }
deploy:
  secrets: { store: { name: bank-store } }
`;

beforeAll(() => {
  assertBuilt();
});

describe('evented deploy kubernetes', () => {
  it('writes a file per role into deploy/kubernetes, and replaces only what it wrote before', async () => {
    const dir = tempDir();
    writeConfig(dir, PROJECT);
    const first = await runEvented(['deploy', 'kubernetes'], { cwd: dir });
    expect(first).toMatchObject({ exitCode: 0, stderr: '' });
    expect(first.stdout).toMatch(
      /^Wrote config\.yaml, command\.yaml, query\.yaml, relay\.yaml, sagas\.yaml, admin\.yaml to deploy\/kubernetes\/:/,
    );
    expect(first.stdout).toContain('kubectl create secret generic bank-store');
    const out = join(dir, 'deploy', 'kubernetes');
    expect(readdirSync(out).sort()).toEqual([
      'admin.yaml',
      'command.yaml',
      'config.yaml',
      'query.yaml',
      'relay.yaml',
      'sagas.yaml',
    ]);
    // A file of the user's own stays; the sagas role gone, its file goes.
    writeFileSync(join(out, 'network-policy.yaml'), 'kind: NetworkPolicy\n');
    writeConfig(dir, PROJECT.replace(/sagas:\n.*\n/, ''));
    expect(await runEvented(['deploy', 'kubernetes', dir])).toMatchObject({ exitCode: 0 });
    expect(readdirSync(out).sort()).toEqual([
      'admin.yaml',
      'command.yaml',
      'config.yaml',
      'network-policy.yaml',
      'query.yaml',
      'relay.yaml',
    ]);
    expect(readFileSync(join(out, 'command.yaml'), 'utf8')).not.toContain('hunter2');
  });

  it('with --stdout, prints every object as one YAML stream, and what to do next on stderr', async () => {
    const dir = tempDir();
    writeConfig(dir, PROJECT);
    const result = await runEvented(['deploy', 'kubernetes', '--stdout'], { cwd: dir });
    expect(result.exitCode).toBe(0);
    const kinds = parseAllDocuments(result.stdout).map((doc) => (doc.toJS() as { kind: string }).kind);
    expect(kinds[0]).toBe('ConfigMap');
    expect(kinds.filter((k) => k === 'Deployment')).toHaveLength(5);
    expect(result.stderr).toMatch(/^Create the Secrets/);
    expect(existsSync(join(dir, 'deploy'))).toBe(false);
  });

  it('refuses a password it would write out in one line, and writes nothing', async () => {
    const dir = tempDir();
    writeConfig(dir, PROJECT.replace('  secrets: { store: { name: bank-store } }', '  image: evented:0.1.0'));
    const result = await runEvented(['deploy', 'kubernetes', '--out', 'manifests'], { cwd: dir });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(errorLines(result.stderr)).toEqual([
      'error: store.url in evented.yaml holds a password, which the manifests would carry in clear: put the URL in a Secret and name it in deploy.secrets.store',
    ]);
    expect(existsSync(join(dir, 'manifests'))).toBe(false);
  });
});
