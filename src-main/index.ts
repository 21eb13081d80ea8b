/** Electron app lifecycle and the window. Everything else lives in services that run without Electron. */
import { app, BrowserWindow, session, shell } from 'electron'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createApiContext } from './api/context'
import { setupIpc } from './ipc'
import { CONTENT_SECURITY_POLICY } from './server/static'
import { resolveStoreDir } from './store/location'

function storeFlag(argv: string[]): string | undefined {
  const i = argv.indexOf('--store')
  return i >= 0 ? argv[i + 1] : undefined
}

async function createWindow(): Promise<void> {
  const rendererIndex = join(import.meta.dirname, '../renderer/index.html')
  const devServer = process.env.ELECTRON_RENDERER_URL
  const trustedUrl = (url: string) =>
    devServer ? url.startsWith(devServer) : url.startsWith(pathToFileURL(rendererIndex).href)

  // The same store the CLI and `serve` use by default, so runs started anywhere show up here.
  const { dir } = resolveStoreDir({ flag: storeFlag(process.argv) })
  const api = createApiContext(dir, { pruneCacheOnOpen: true })

  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    title: 'Finetune Studio',
    show: false,
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true
    }
  })
  const teardownIpc = setupIpc(api, window, trustedUrl)
  window.on('ready-to-show', () => window.show())
  window.on('closed', () => {
    teardownIpc()
    void api.dispose()
  })
  // Links open in the user's browser; the app window never navigates away from our page.
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https:')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  window.webContents.on('will-navigate', (event, url) => {
    if (!trustedUrl(url)) event.preventDefault()
  })

  if (devServer) await window.loadURL(devServer)
  else await window.loadFile(rendererIndex)
}

app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] }
    })
  })
  void createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
