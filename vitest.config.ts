import { defineConfig } from 'vitest/config';

// Three tiers by suffix: *.test.ts (unit, no services), *.int.test.ts (real SQLite, PostgreSQL, RabbitMQ,
// Consul, gRPC on loopback), *.e2e.test.ts (the built CLI as a subprocess).
export default defineConfig({
  test: {
    // After the usual summary: every file, suite or test that did not run, and what it needs (services.ts).
    reporters: ['default', './test/helpers/not-run-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'templates/typescript/test/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.int.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.e2e.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
