/**
 * The Electron door: every API call as an ipcMain handler. The sender must be our own window showing
 * our own page; the input is parsed by dispatch() like any other door's.
 */
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron'
import { CALL_NAMES, EVENT_CHANNEL } from '../../src-preload/call-names'
import type { ApiContext } from '../api/context'
import { dispatch } from '../api/dispatch'
import type { RequestContext } from '../api/handlers'

function senderIsOurs(
  event: IpcMainInvokeEvent,
  window: BrowserWindow,
  trustedUrl: (url: string) => boolean
): boolean {
  const owner = BrowserWindow.fromWebContents(event.sender)
  return owner === window && event.senderFrame !== null && trustedUrl(event.senderFrame.url)
}

export function setupIpc(
  api: ApiContext,
  window: BrowserWindow,
  trustedUrl: (url: string) => boolean
): () => void {
  const ctx: RequestContext = { ...api, transport: 'ipc' }
  for (const name of CALL_NAMES) {
    ipcMain.handle(name, (event, input: unknown) => {
      if (!senderIsOurs(event, window, trustedUrl)) {
        return {
          ok: false,
          error: { code: 'unauthorized', message: `${name}: refused a call from an unknown sender` }
        }
      }
      return dispatch(name, input, ctx)
    })
  }
  const unsubscribe = api.events.subscribe((event, payload) => {
    if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, event, payload)
  })
  return () => {
    unsubscribe()
    for (const name of CALL_NAMES) ipcMain.removeHandler(name)
  }
}
