import { defineConfig } from 'vitest/config';

// Three rings run by vitest: fast CPU unit tests, WGSL kernels on a real adapter (Dawn in Node),
// and browser tests (Playwright driving Chromium against a built page).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.kernel.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'kernels',
          include: ['test/**/*.kernel.test.ts'],
          environment: 'node',
          // One Dawn device per worker process; SwiftShader is CPU-bound, so run files one at a time.
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['e2e/**/*.e2e.test.ts'],
          environment: 'node',
          fileParallelism: false,
          globalSetup: ['e2e/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
