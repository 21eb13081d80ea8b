/**
 * Runs in the sandboxed preload context. Exposes one named method per API call and one way to hear
 * events — never ipcRenderer itself — so the page can reach main only through the contract.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron'
import { CALL_NAMES, EVENT_CHANNEL } from './call-names'

const methods: Record<string, unknown> = {}
for (const name of CALL_NAMES) {
  methods[name] = (input: unknown) => ipcRenderer.invoke(name, input)
}

methods.onEvent = (listener: (event: string, payload: unknown) => void) => {
  const forward = (_e: unknown, event: string, payload: unknown) => listener(event, payload)
  ipcRenderer.on(EVENT_CHANNEL, forward)
  return () => ipcRenderer.removeListener(EVENT_CHANNEL, forward)
}

// A picked or dropped File carries no path since Electron 32; main reads files by path.
methods.pathForFile = (file: File) => webUtils.getPathForFile(file)

contextBridge.exposeInMainWorld('finetuneStudio', methods)
