import { ref, type Ref } from 'vue'
import { useToastStore } from '../stores/toasts'

/**
 * A list the server serves a page at a time: the page shown, the offset it starts at, and whether
 * one is loading. `fetchPage` asks for the page at an offset, or answers null when there is nothing
 * to show; an answer overtaken by a newer request is dropped. A failed request is toasted, and the
 * page shown is cleared or kept as `onFailure` says.
 */
export function usePagedList<Page>(
  fetchPage: (offset: number) => Promise<Page | null>,
  onFailure: 'clear' | 'keep'
) {
  const toasts = useToastStore()
  const page = ref(null) as Ref<Page | null>
  const offset = ref(0)
  const loading = ref(false)

  let request = 0
  async function load(): Promise<void> {
    const mine = ++request
    loading.value = true
    try {
      const answer = await fetchPage(offset.value)
      if (mine === request) page.value = answer
    } catch (error) {
      if (mine === request && onFailure === 'clear') page.value = null
      toasts.showError(error)
    } finally {
      if (mine === request) loading.value = false
    }
  }

  /** Back to the first page, after what the list holds has changed. */
  async function reload(): Promise<void> {
    offset.value = 0
    await load()
  }

  async function goTo(nextOffset: number): Promise<void> {
    offset.value = Math.max(0, nextOffset)
    await load()
  }

  return { page, offset, loading, load, reload, goTo }
}
