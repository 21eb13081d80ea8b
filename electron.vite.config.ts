import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'electron-vite'
import vue from '@vitejs/plugin-vue'

const root = fileURLToPath(new URL('.', import.meta.url))

// Three targets. Main bundles five entries: the Electron app, the plain-Node CLI (which also
// runs the headless server), the job worker, an import's reader thread and the reward room's SQL
// query process; none of them bundles native modules.
export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve(root, 'src-main/index.ts'),
          cli: resolve(root, 'src-main/cli.ts'),
          'job-worker': resolve(root, 'src-main/jobs/job-worker.ts'),
          'import-reader': resolve(root, 'src-main/datasets/import-reader-worker.ts'),
          'sql-query': resolve(root, 'src-main/rewards/sql-query-process.ts')
        },
        // Shared chunks sit beside the entries, so code in any of them finds job-worker.js as a sibling.
        output: { chunkFileNames: '[name]-[hash].js' }
      }
    }
  },
  preload: {
    build: {
      rollupOptions: {
        input: { index: resolve(root, 'src-preload/index.ts') },
        // A sandboxed preload cannot be an ES module.
        output: { format: 'cjs', entryFileNames: '[name].cjs' }
      }
    }
  },
  renderer: {
    root: resolve(root, 'src-renderer'),
    build: {
      rollupOptions: { input: { index: resolve(root, 'src-renderer/index.html') } }
    },
    plugins: [vue()]
  }
})
