import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic, next to the code) and `integration` (test/, real etcd,
// kube-apiserver, network namespaces). Integration suites run one file at a time: they
// start real processes and touch the kernel, and the machine has two cores.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{lib,ksr,agent,cni,stn,cli}/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', '**/*.integration.test.ts'],
          exclude: ['node_modules/**'],
          globalSetup: ['test/harness/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
