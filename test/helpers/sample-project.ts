import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseDocument } from 'yaml';
import { moveRuntimePorts, runEvented } from './cli.js';
import { repoRoot, typescriptTemplate } from './paths.js';
import { freePort } from './ports.js';
import { tempDir } from './tmp.js';

/**
 * `evented init` the TypeScript sample (the account domain, the accounts projector, the transfers saga), made
 * runnable as `npm install && npm run gen` would, on ports of its own. Returns the project folder.
 */
export const scaffoldSample = async (): Promise<string> => {
  const dir = join(tempDir(), 'bank');
  const init = await runEvented(['init', dir, '--yes']);
  expect(init.exitCode, init.stderr).toBe(0);
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(typescriptTemplate, 'src/gen'), join(dir, 'src/gen'), { recursive: true });

  const config = parseDocument(readFileSync(join(dir, 'evented.yaml'), 'utf8'));
  await moveRuntimePorts(config);
  const services: [string, string[]][] = [
    ['business-logic', ['domains', 'account', 'businessLogic']],
    ['projector', ['projectors', 'accounts', 'address']],
    ['saga', ['sagas', 'transfers', 'address']],
  ];
  for (const [process, addressKey] of services) {
    const port = await freePort();
    config.setIn(addressKey, `127.0.0.1:${port}`);
    config.setIn(['processes', process, 'readyOn'], `127.0.0.1:${port}`);
    config.setIn(['processes', process, 'env', 'PORT'], String(port));
  }
  writeFileSync(join(dir, 'evented.yaml'), config.toString());
  return dir;
};
