import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../runtime/index.js';

const errorOf = (text: string): ConfigError => {
  try {
    parseConfigText(text, 'evented.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('evented.yaml', () => {
  it('gives every key its default when the file is empty', () => {
    const config = parseConfigText('', 'evented.yaml');
    expect(config.store).toEqual({ kind: 'sqlite', path: '.evented/events.db', synchronous: 'full' });
    expect(config.commandHandler.port).toBe(1313);
    expect(config.queryHandler.port).toBe(1314);
    expect(config.domains).toEqual({});
  });

  it('reads domains and overrides', () => {
    const config = parseConfigText(
      'name: bank\ncommandHandler:\n  port: 2000\ndomains:\n  account:\n    businessLogic: localhost:1737\n',
      'evented.yaml',
    );
    expect(config.name).toBe('bank');
    expect(config.commandHandler).toMatchObject({ port: 2000, host: '127.0.0.1', conflictRetries: 5 });
    expect(config.domains).toEqual({ account: { businessLogic: 'localhost:1737' } });
  });

  it('names the line and the key of a wrong value', () => {
    const err = errorOf('name: bank\ncommandHandler:\n  port: abc\n');
    expect(err.message).toMatch(/^evented\.yaml:3: commandHandler\.port: /);
  });

  it('names an unknown key, with its line', () => {
    const err = errorOf('name: bank\ndomains:\n  account:\n    businessLogik: localhost:1737\n');
    expect(err.message).toContain('evented.yaml:4: domains.account: unknown key "businessLogik"');
  });

  it('explains an address that is not host:port', () => {
    const err = errorOf('domains:\n  account:\n    businessLogic: localhost\n');
    expect(err.message).toMatch(/evented\.yaml:3: domains\.account\.businessLogic: expected host:port/);
  });

  it('gives a process every role unless `roles` names some, and checks commandHandler.address', () => {
    expect(parseConfigText('', 'evented.yaml').roles).toEqual([
      'command',
      'query',
      'relay',
      'projectors',
      'sagas',
      'admin',
    ]);
    const split = parseConfigText(
      'roles: [sagas, relay]\ncommandHandler:\n  address: commands.bank.svc:1313\n',
      'evented.yaml',
    );
    expect(split.roles).toEqual(['sagas', 'relay']);
    expect(split.commandHandler.address).toBe('commands.bank.svc:1313');
    expect(errorOf('commandHandler:\n  address: commands\n').message).toMatch(
      /^evented\.yaml:2: commandHandler\.address: expected host:port/,
    );
  });

  it('explains the TLS, token and URL keys', () => {
    expect(errorOf('token: { file: secrets/token, env: EVENTED_TOKEN }\n').message).toBe(
      'evented.yaml:1: token: give the token either as file (a file holding it) or as env (a variable holding it)',
    );
    expect(errorOf('projectors:\n  p: { address: "a:1", domains: [x], tls: yes }\n').message).toBe(
      'evented.yaml:2: projectors.p.tls: expected true, false, or { ca: FILE, serverName: NAME }',
    );
    expect(errorOf('tls: { cert: tls/runtime.crt }\n').message).toBe(
      'evented.yaml:1: tls.key: is required (string)',
    );
    expect(errorOf('store: { kind: postgres, url: { env: "1X" } }\n').message).toMatch(
      /^evented\.yaml:1: store\.url\.env: expected the name of an environment variable/,
    );
    expect(errorOf('deploy: { resources: { requests: { cpu: lots } } }\n').message).toBe(
      'evented.yaml:1: deploy.resources.requests.cpu: expected a Kubernetes quantity, for example 250m (CPU) or 512Mi (memory)',
    );
    const config = parseConfigText('bus: { kind: amqp, url: { env: EVENTED_BUS_URL } }\n', 'evented.yaml');
    expect(config.bus).toMatchObject({ kind: 'amqp', url: { env: 'EVENTED_BUS_URL' } });
    expect(config.tls).toBeUndefined();
    expect(config.health).toBeUndefined();
  });

  it('serves the console on 127.0.0.1:1317 by default; another host needs console.token', () => {
    expect(parseConfigText('', 'evented.yaml').console).toEqual({
      enabled: true,
      host: '127.0.0.1',
      port: 1317,
    });
    expect(errorOf('console: { host: 0.0.0.0 }\n').message).toBe(
      'evented.yaml:1: console.token: the console changes state (retry, skip, replay): to serve it on a host other than loopback (127.0.0.1, ::1), also set console.token (file: FILE or env: NAME), which every request must then carry',
    );
    const remote = parseConfigText(
      'console: { host: 0.0.0.0, token: { env: CONSOLE_TOKEN } }\n',
      'evented.yaml',
    );
    expect(remote.console).toMatchObject({ host: '0.0.0.0', token: { env: 'CONSOLE_TOKEN' } });
    expect(parseConfigText('console: { host: "::1" }\n', 'evented.yaml').console.host).toBe('::1');
  });

  it('reports YAML syntax errors with their line', () => {
    const err = errorOf('name: bank\ndomains:\n  account: [\n');
    expect(err.message).toMatch(/^evented\.yaml:\d+: not valid YAML/);
  });
});
