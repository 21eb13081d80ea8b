import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import { startServer } from '../../server'
import { DEFAULT_UPLOAD_LIMITS } from '../../server/upload'
import type { Command } from '../command'
import { UsageError } from '../command'
import { storeDirFor } from '../session'
import { optionalNumber } from './engine-job'

const GIB = 1024 ** 3

/** The built renderer sits at out/renderer, beside out/main where the CLI bundle runs from. */
function builtRendererDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [
    join(here, '../renderer'),
    join(here, '../../out/renderer'),
    join(here, '../../../out/renderer')
  ]
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]
}

export const serveCommand: Command = {
  words: ['serve'],
  summary: 'Serve the Finetune Studio UI and API over HTTP + WebSocket (headless GPU boxes, browsers).',
  details:
    'Prints a URL that carries a random access token; requests and sockets without it get 401.\n' +
    'Binds 127.0.0.1 unless --host says otherwise (then anyone who can reach the port and has the URL\n' +
    'can use this store: prefer an SSH tunnel). Open it by IP address, localhost or the --host name:\n' +
    'other names are refused (DNS rebinding). Files uploaded from a browser are kept 24 h.',
  options: {
    port: {
      type: 'string',
      valueName: 'N',
      description: 'port to listen on (0 = any free port)',
      default: '7860'
    },
    host: { type: 'string', valueName: 'ADDR', description: 'address to bind', default: '127.0.0.1' },
    'upload-quota-gb': {
      type: 'string',
      valueName: 'N',
      description: `keep at most N GiB of files uploaded from browsers (default ${DEFAULT_UPLOAD_LIMITS.quotaBytes / GIB})`
    }
  },
  async run(args, io) {
    const port = Number(args.values.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port must be 0-65535, got ${args.values.port}`)
    const rendererDir = builtRendererDir()
    if (!existsSync(join(rendererDir, 'index.html'))) {
      throw new Error(
        `the UI is not built (no ${join(rendererDir, 'index.html')}): run \`npm run build\` first`
      )
    }
    const quotaGb = optionalNumber(args, 'upload-quota-gb', { min: 0 })
    const storeDir = storeDirFor(args)
    const server = await startServer({
      storeDir,
      rendererDir,
      port,
      host: String(args.values.host),
      log: io.err,
      uploads: quotaGb === undefined ? {} : { quotaBytes: quotaGb * GIB }
    })
    // The last resort, not the defence: every handler answers its own failures. A rejection that
    // still gets here is our bug, and must not end a server that may be training.
    const reportUnhandled = (reason: unknown) =>
      io.err(`error: unhandled rejection, please report: ${reason instanceof Error ? reason.stack : reason}`)
    process.on('unhandledRejection', reportUnhandled)
    io.out(`Finetune Studio is serving store ${storeDir}`)
    io.out(`Open: ${server.url}`)
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve)
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    process.off('unhandledRejection', reportUnhandled)
  }
}
