import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsConnections } from '../../runtime/support/net.js';
import { assertBuilt, newProject, readRuntimeFile, runEvented } from '../helpers/cli.js';

/**
 * Which project a command works on, and which runtime it may act on: the project is found from the current
 * folder up (the nearest evented.yaml, as git finds its repository); a runtime found by any way but --address
 * must serve that project.
 */

let alpha: { dir: string; ports: { commands: number; admin: number } };

beforeAll(async () => {
  assertBuilt();
  alpha = await newProject({ name: 'alpha' });
  const started = await runEvented(['up', alpha.dir, '--detach']);
  expect(started).toMatchObject({ exitCode: 0, stderr: '' });
});
afterAll(async () => {
  await runEvented(['down', alpha.dir]);
});

describe('a command run in a subfolder of the project', () => {
  it('finds the project above it: status works there, and down stops the project', async () => {
    const subfolder = join(alpha.dir, 'src', 'deep');
    mkdirSync(subfolder, { recursive: true });

    const status = await runEvented(['status'], { cwd: subfolder });
    expect(status.stderr).toBe('');
    expect(status.stdout).toMatch(/^alpha \(evented \S+\): store head at position 0/);
    expect(status.exitCode).toBe(0);
    const tail = await runEvented(['tail', 'events', '--no-follow'], { cwd: subfolder });
    expect(tail).toMatchObject({ exitCode: 0, stderr: '' });

    const pid = readRuntimeFile(alpha.dir).pid;
    const down = await runEvented(['down'], { cwd: subfolder });
    expect(down.stdout).toBe(`stopped alpha (evented up, pid ${pid}); data under .evented/ is kept\n`);
    expect(await acceptsConnections(`127.0.0.1:${alpha.ports.commands}`, 500)).toBe(false);

    // and up, from there, starts it again
    const again = await runEvented(['up', '--detach'], { cwd: subfolder });
    expect(again).toMatchObject({ exitCode: 0, stderr: '' });
    expect(readRuntimeFile(alpha.dir).name).toBe('alpha');
  });
});

describe('another project whose runtime is not running', () => {
  it('refuses the runtime that answers on its admin port when it serves another project, unless --address names it', async () => {
    // Bravo's evented.yaml puts its admin service where alpha's runtime listens; bravo itself is not running.
    const bravo = await newProject({ name: 'bravo', ports: { admin: alpha.ports.admin } });
    const admin = `127.0.0.1:${alpha.ports.admin}`;

    for (const args of [['status'], ['tail', 'events', '--no-follow'], ['replay', '--projector', 'p']]) {
      const refused = await runEvented(args, { cwd: bravo.dir });
      expect({ args, exitCode: refused.exitCode, stdout: refused.stdout }).toEqual({
        args,
        exitCode: 1,
        stdout: '',
      });
      expect(refused.stderr.split('\n').slice(0, 2)).toEqual([
        `error: the runtime at ${admin} (from the admin port in ${join(bravo.dir, 'evented.yaml')}) serves the project "alpha" in ${alpha.dir}, not this one (${bravo.dir})`,
        `  hint: start this project's runtime with \`evented up\`, or pass --address ${admin} to use that one anyway`,
      ]);
    }

    const named = await runEvented(['status', '--address', admin], { cwd: bravo.dir });
    expect(named.exitCode).toBe(0);
    expect(named.stdout).toMatch(/^alpha /);
    const json = await runEvented(['status', '--address', admin, '--json'], { cwd: bravo.dir });
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'alpha', projectDir: alpha.dir });
  });
});
