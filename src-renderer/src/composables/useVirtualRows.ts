import { computed, onBeforeUnmount, onMounted, ref, watch, type Ref } from 'vue'

/**
 * Browsers stop laying out elements taller than about 33 million pixels (Chromium) or less
 * (Firefox), so beyond this height the scroll bar is scaled: the spacer stays this tall and a scroll
 * position maps proportionally onto the full list.
 */
export const MAX_SCROLL_HEIGHT_PX = 8_000_000

export interface VisibleWindowInput {
  scrollTop: number
  viewportHeight: number
  rowHeight: number
  total: number
  /** Extra rows drawn above and below the viewport so that fast scrolling shows no gaps. */
  overscan: number
  maxScrollHeight?: number
}

export interface VisibleWindow {
  /** First and last (inclusive) row index to draw; last < first when there is nothing to draw. */
  first: number
  last: number
  /** Height of the scrolling content (the spacer). */
  contentHeight: number
  /** Where row `first` is drawn, in content pixels; later rows follow at rowHeight each. */
  firstTop: number
}

/** Which rows of a fixed-height list are (nearly) in view, and where to draw them. */
export function visibleWindow(input: VisibleWindowInput): VisibleWindow {
  const { viewportHeight, rowHeight, total, overscan } = input
  const maxHeight = input.maxScrollHeight ?? MAX_SCROLL_HEIGHT_PX
  const fullHeight = total * rowHeight
  const contentHeight = Math.min(fullHeight, maxHeight)
  if (total === 0) return { first: 0, last: -1, contentHeight: 0, firstTop: 0 }

  const scrollTop = Math.max(0, Math.min(input.scrollTop, Math.max(0, contentHeight - viewportHeight)))
  // Where the viewport's top edge is in the full (unscaled) list.
  const scrollRange = contentHeight - viewportHeight
  const virtualTop =
    fullHeight === contentHeight || scrollRange <= 0
      ? scrollTop
      : (scrollTop / scrollRange) * (fullHeight - viewportHeight)

  const topRow = Math.floor(virtualTop / rowHeight)
  const rowsInView = Math.ceil(viewportHeight / rowHeight) + 1
  const first = Math.max(0, topRow - overscan)
  const last = Math.min(total - 1, topRow + rowsInView + overscan)
  // Drawn relative to the real scroll position, so that a scaled list still scrolls row by row.
  const firstTop = scrollTop + (first * rowHeight - virtualTop)
  return { first, last, contentHeight, firstTop }
}

/**
 * Tracks a scroll container and tells which rows to render. The container must have a fixed
 * height; rows are `rowHeight` pixels tall.
 */
export function useVirtualRows(
  container: Ref<HTMLElement | null>,
  total: Ref<number>,
  rowHeight: number,
  overscan = 8
) {
  const scrollTop = ref(0)
  const viewportHeight = ref(0)
  let resizeObserver: ResizeObserver | null = null

  function measure(): void {
    const element = container.value
    if (!element) return
    scrollTop.value = element.scrollTop
    viewportHeight.value = element.clientHeight
  }

  onMounted(() => {
    measure()
    resizeObserver = new ResizeObserver(measure)
    if (container.value) resizeObserver.observe(container.value)
  })
  onBeforeUnmount(() => resizeObserver?.disconnect())

  // A new filter shrinks the list: start again from its top.
  watch(total, (next, previous) => {
    if (next < previous && container.value) {
      container.value.scrollTop = 0
      measure()
    }
  })

  const rows = computed(() =>
    visibleWindow({
      scrollTop: scrollTop.value,
      viewportHeight: viewportHeight.value,
      rowHeight,
      total: total.value,
      overscan
    })
  )

  function scrollToRow(index: number): void {
    const element = container.value
    if (!element) return
    const { contentHeight } = rows.value
    const fullHeight = total.value * rowHeight
    const target =
      fullHeight === contentHeight
        ? index * rowHeight
        : (index / Math.max(1, total.value - 1)) * (contentHeight - viewportHeight.value)
    element.scrollTop = target
    measure()
  }

  return { rows, onScroll: measure, scrollToRow }
}
