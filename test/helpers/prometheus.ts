import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { startProcess, type TestProcess } from './processes.js';
import { tempDir } from './tmp.js';

/**
 * A real Prometheus server (Debian's `prometheus`), started by a test on a free port of its own, its data in a
 * temporary folder, scraping `targets` (host:port, path /metrics) every 200 ms. Killed when the test file ends,
 * if the test has not stopped it.
 */
export interface TestPrometheus {
  readonly process: TestProcess;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The instant vector of a PromQL query: each series' labels and value. */
  query(promql: string): Promise<{ labels: Record<string, string>; value: number }[]>;
  /** The value of a query that yields one series; undefined while it yields none. */
  value(promql: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

export const SCRAPE_INTERVAL_MS = 200;

export const startPrometheus = async (binary: string, targets: string[]): Promise<TestPrometheus> => {
  const dir = tempDir('evented-prometheus-');
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    stringify({
      global: { scrape_interval: `${SCRAPE_INTERVAL_MS}ms`, scrape_timeout: `${SCRAPE_INTERVAL_MS}ms` },
      scrape_configs: [{ job_name: 'evented', static_configs: [{ targets }] }],
    }),
  );
  const port = await freePort();
  const process = startProcess(binary, [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // A sample read a moment ago is the current value: queries see a stopped target's series go at once.
    '--query.lookback-delta=1s',
  ]);
  await process.waitFor(/Server is ready to receive web requests/, 30_000);
  const url = `http://127.0.0.1:${port}`;
  const query = async (promql: string): Promise<{ labels: Record<string, string>; value: number }[]> => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || body.data?.resultType !== 'vector') {
      throw new Error(`Prometheus refused ${promql}: ${body.error ?? JSON.stringify(body)}`);
    }
    return body.data.result.map(({ metric, value }) => ({ labels: metric, value: Number(value[1]) }));
  };
  return {
    process,
    url,
    query,
    async value(promql) {
      const result = await query(promql);
      if (result.length > 1) throw new Error(`${promql} yields ${result.length} series, not one`);
      return result[0]?.value;
    },
    async stop() {
      await process.stop();
    },
  };
};
