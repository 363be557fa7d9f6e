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

/**
 * The sample's projector with a bug its user could make: while the file `refuse-13` is in the project, it refuses
 * any book holding a deposit of 13 (Handle and HandleBatch alike), so that event ends up a dead letter.
 */
export const breakProjector = (dir: string): void => {
  writeFileSync(join(dir, 'refuse-13'), '');
  const path = join(dir, 'src/projector.ts');
  const source = readFileSync(path, 'utf8');
  const refusal = `
const refuses = (book: EventBook): boolean =>
  existsSync(${JSON.stringify(join(dir, 'refuse-13'))}) &&
  book.pages.some((page) => {
    const event = page.Event && decodeEvent(page.Event);
    return event?.type === 'MoneyDeposited' && event.amount === 13;
  });
const REFUSED = { code: 13, details: 'the projector cannot take a deposit of 13' };

export const accountsProjector`;
  const patched = source
    .replace(
      "import { encodeState, uuidFromBytes } from './codec.js';",
      "import { existsSync } from 'node:fs';\nimport { decodeEvent, encodeState, uuidFromBytes } from './codec.js';",
    )
    .replace('export const accountsProjector', refusal)
    .replace(
      'handle(call: ServerUnaryCall<EventBook, Empty>, callback: sendUnaryData<Empty>) {',
      'handle(call: ServerUnaryCall<EventBook, Empty>, callback: sendUnaryData<Empty>) {\n      if (refuses(call.request)) return callback(REFUSED);',
    )
    .replace(
      'handleBatch(call: ServerUnaryCall<EventBatch, Empty>, callback: sendUnaryData<Empty>) {',
      'handleBatch(call: ServerUnaryCall<EventBatch, Empty>, callback: sendUnaryData<Empty>) {\n      if (call.request.books.some(refuses)) return callback(REFUSED);',
    );
  expect(patched.match(/callback\(REFUSED\)/g)?.length).toBe(2);
  writeFileSync(path, patched);
};
