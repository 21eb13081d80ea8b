// A script, not a module (no top-level import), so that the declarations below are global.

interface Window {
  /** Present only inside Electron, where the preload script exposes the API. */
  finetuneStudio?: import('../../src-preload/contract').PreloadApi
}

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}
