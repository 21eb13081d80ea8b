import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          environment: 'node',
          testTimeout: 60_000,
          // Some suites train or convert a model once in beforeAll; under a loaded machine that
          // outlasts vitest's 10 s hook default.
          hookTimeout: 120_000,
          // Engine tests are CPU-heavy; two cores, so at most two test files at once.
          maxWorkers: 2
        }
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 240_000,
          fileParallelism: false
        }
      }
    ]
  }
})
