import { defineStore } from 'pinia'
import { ref } from 'vue'
import { ApiError } from '../api'

export interface Toast {
  id: number
  /** The error code from main (e.g. `not_found`), or `error` for anything that is not an ApiError. */
  code: string
  message: string
}

/** Long enough to read a path in an error message; the toast can also be dismissed at once. */
export const TOAST_LIFETIME_MS = 12_000

export const useToastStore = defineStore('toasts', () => {
  const toasts = ref<Toast[]>([])
  let nextId = 1

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((toast) => toast.id !== id)
  }

  /** Shows the error's own message: main's messages already name the operation and the value. */
  function showError(error: unknown): void {
    const toast: Toast =
      error instanceof ApiError
        ? { id: nextId++, code: error.code, message: error.message }
        : { id: nextId++, code: 'error', message: error instanceof Error ? error.message : String(error) }
    toasts.value.push(toast)
    setTimeout(() => dismiss(toast.id), TOAST_LIFETIME_MS)
  }

  return { toasts, dismiss, showError }
})
