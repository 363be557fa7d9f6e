import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.js';

/**
 * Certificates made for a test, with the openssl command line (Node can read X.509 but not issue it): a CA, a
 * certificate for the runtime signed by it (names `localhost` and 127.0.0.1, usable as server and as client), one
 * for a client (the CLI), and a second CA, unknown to the runtime, with a client certificate of its own. P-256
 * keys, valid for a day, in a temporary folder. Every value is a path.
 */
export interface TestPki {
  dir: string;
  ca: string;
  runtime: { cert: string; key: string };
  client: { cert: string; key: string };
  /** A CA the runtime does not trust, and a client certificate it signed. */
  rogueCa: string;
  rogueClient: { cert: string; key: string };
}

const openssl = (args: string[], cwd: string): void => {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(
      `openssl ${args[0]} failed (is openssl installed?): ${(err as Error).message}\n${stderr}`,
    );
  }
};

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

const makeCa = (dir: string, name: string): void =>
  openssl(
    [
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );

const makeLeaf = (dir: string, name: string, ca: string, extensions: string): void => {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(['req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
};

/** A CA and certificates signed by it; `names`: what the runtime's certificate is valid for. */
export const makeTestPki = (names: string[] = ['DNS:localhost', 'IP:127.0.0.1']): TestPki => {
  const dir = tempDir();
  makeCa(dir, 'ca');
  makeLeaf(
    dir,
    'runtime',
    'ca',
    `basicConstraints=CA:FALSE\nsubjectAltName=${names.join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`,
  );
  makeLeaf(dir, 'client', 'ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  makeCa(dir, 'rogue-ca');
  makeLeaf(dir, 'rogue-client', 'rogue-ca', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  const pair = (name: string) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    runtime: pair('runtime'),
    client: pair('client'),
    rogueCa: join(dir, 'rogue-ca.crt'),
    rogueClient: pair('rogue-client'),
  };
};
