import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.js';
import { startProcess, type TestProcess } from './processes.js';
import { describeWith } from './services.js';
import { tempDir } from './tmp.js';

/**
 * A real Consul agent (`consul agent -dev`) for one test file: on free ports, data in a temporary folder,
 * started before the file's tests and killed after them. The binary is the requirement `consul` of
 * test/helpers/services.ts ($CONSUL_BIN, else what ../shared/tools/consul-bin prints); without one the suite is
 * not run, and says so, or fails when EVENTED_TEST_REQUIRE names consul.
 *
 *   describeWithConsul('load-config', (consul) => { it('…', async () => { await consul().put('k', 'v') }) });
 */
export interface ConsulAgent {
  /** Its HTTP API, e.g. http://127.0.0.1:43121. */
  readonly url: string;
  readonly process: TestProcess;
  /** The keys under `prefix` and their text (an empty object when there are none). */
  tree(prefix: string): Promise<Record<string, string>>;
  /** Each key's ModifyIndex under `prefix`: what changes when a key is written. */
  indexes(prefix: string): Promise<Record<string, number>>;
  put(key: string, text: string): Promise<void>;
}

interface KvItem {
  Key: string;
  Value: string | null;
  ModifyIndex: number;
}

const kvItems = async (url: string, prefix: string): Promise<KvItem[]> => {
  const response = await fetch(`${url}/v1/kv/${prefix}?recurse=true`);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`Consul: GET ${prefix}: HTTP ${response.status}`);
  return (await response.json()) as KvItem[];
};

/** Starts `consul agent -dev`; resolves once it has elected itself leader (KV writes work from then on). */
export const startConsulAgent = async (binary: string): Promise<ConsulAgent> => {
  const [http, serfLan, serfWan, server] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const url = `http://127.0.0.1:${http}`;
  const agent = startProcess(binary, [
    'agent',
    '-dev',
    ...['-bind', '127.0.0.1', '-client', '127.0.0.1'],
    ...['-http-port', String(http), '-dns-port', '-1', '-grpc-port', '-1'],
    ...['-serf-lan-port', String(serfLan), '-serf-wan-port', String(serfWan), '-server-port', String(server)],
    ...['-data-dir', tempDir('evented-consul-')],
  ]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const leader = await fetch(`${url}/v1/status/leader`)
      .then((response) => response.json() as Promise<string>)
      .catch(() => '');
    if (leader !== '') break;
    if (Date.now() > deadline) {
      await agent.stop('SIGKILL');
      throw new Error(`consul agent -dev did not elect a leader within 30 s; it printed:\n${agent.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    process: agent,
    tree: async (prefix) =>
      Object.fromEntries(
        (await kvItems(url, prefix)).map((item) => [
          item.Key,
          Buffer.from(item.Value ?? '', 'base64').toString('utf8'),
        ]),
      ),
    indexes: async (prefix) =>
      Object.fromEntries((await kvItems(url, prefix)).map((item) => [item.Key, item.ModifyIndex])),
    put: async (key, text) => {
      const response = await fetch(`${url}/v1/kv/${key}`, { method: 'PUT', body: text });
      if (!response.ok) throw new Error(`Consul: PUT ${key}: HTTP ${response.status}`);
    },
  };
};

/** `describe` with a private Consul agent for the file: `describeWithConsul('…', (consul) => { … })`. */
export const describeWithConsul = (title: string, body: (agent: () => ConsulAgent) => void): void =>
  describeWith('consul', title, (binary) => {
    let agent: ConsulAgent | undefined;
    beforeAll(async () => {
      agent = await startConsulAgent(binary);
    }, 60_000);
    afterAll(async () => {
      await agent?.process.stop('SIGINT');
    }, 30_000);
    body(() => {
      if (agent === undefined) throw new Error('the Consul agent did not start');
      return agent;
    });
  });
