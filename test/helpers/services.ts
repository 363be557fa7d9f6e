import { describe, it } from 'vitest';

/**
 * Real external services for integration tests. A test suite that needs one runs when its URL is set, and is
 * skipped loudly (with the reason printed) when it is not — unless EVENTED_TEST_REQUIRE names the service,
 * in which case the suite fails instead (CI sets EVENTED_TEST_REQUIRE=rabbitmq,consul,postgres).
 */
export type ServiceName = 'rabbitmq' | 'consul' | 'postgres' | 'mongodb';

const variables: Record<ServiceName, string> = {
  rabbitmq: 'EVENTED_TEST_AMQP_URL',
  consul: 'CONSUL_BIN',
  postgres: 'EVENTED_TEST_POSTGRES_URL',
  mongodb: 'EVENTED_TEST_MONGODB_URL',
};

const TEST_SERVICES = 'eval "$(../shared/tools/test-services)" sets it';
const howToSet: Record<ServiceName, string> = {
  rabbitmq: TEST_SERVICES,
  consul: TEST_SERVICES,
  postgres: TEST_SERVICES,
  mongodb:
    'no mongod can be had on these machines; point it at a replica set, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0',
};

const required = (name: string): boolean =>
  (process.env.EVENTED_TEST_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim())
    .includes(name);

/** The service's URL (or binary path), undefined when it is not available and not required. */
export const serviceUrl = (name: ServiceName): string | undefined => {
  const value = process.env[variables[name]];
  if (value) return value;
  if (required(name)) {
    throw new Error(`${name} is required (EVENTED_TEST_REQUIRE) but ${variables[name]} is not set`);
  }
  console.warn(`skipping ${name} tests: ${variables[name]} is not set (${howToSet[name]})`);
  return undefined;
};

/** `describe` that runs only when the service is available: `describeWith('rabbitmq', (url) => { … })`. */
export const describeWith = (name: ServiceName, title: string, body: (url: string) => void): void => {
  const url = serviceUrl(name);
  if (url === undefined) describe.skip(`${title} (needs ${name})`, () => undefined);
  else describe(title, () => body(url));
};

/**
 * `describe` that runs only where a language's toolchain is installed (`missing` says what is not, or returns
 * undefined): skipped with the reason printed, or failing when EVENTED_TEST_REQUIRE names the language
 * (`python`, `go`, `java`, …).
 */
export const describeWithToolchain = (
  lang: string,
  title: string,
  missing: () => string | undefined,
  body: () => void,
): void => {
  const problem = missing();
  if (problem === undefined) describe(title, body);
  else if (required(lang)) {
    describe(title, () =>
      it(`has its toolchain`, () => {
        throw new Error(`${lang} is required (EVENTED_TEST_REQUIRE) but its toolchain is not: ${problem}`);
      }),
    );
  } else {
    console.warn(`skipping ${title}: ${problem}`);
    describe.skip(`${title} (needs ${lang}: ${problem})`, () => undefined);
  }
};
