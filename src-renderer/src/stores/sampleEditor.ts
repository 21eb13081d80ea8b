import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type {
  Conversation,
  ConversationMessage,
  ConversationRole,
  SampleDetail,
  SampleRevisionInfo,
  Split,
  ToolCall
} from '../../../src-preload/contract'
import { useApi } from '../api'
import { useDatasetsStore } from './datasets'
import { useSampleTableStore } from './sampleTable'
import { useToastStore } from './toasts'

/** `messages`, or the rejected completion of a preference pair. */
export type TurnList = 'messages' | 'rejected'

export interface SampleDraft {
  conversation: Conversation
  tags: string[]
  split: Split
  rating: number | null
}

function draftOf(sample: SampleDetail): SampleDraft {
  return {
    conversation: structuredClone(sample.conversation),
    tags: [...sample.tags],
    split: sample.split,
    rating: sample.rating
  }
}

/** Metadata the editor does not show is kept as it is; an empty object is no metadata. */
function hasKeys(metadata: Record<string, unknown> | undefined): metadata is Record<string, unknown> {
  return metadata !== undefined && Object.keys(metadata).length > 0
}

/**
 * Drops the keys an editor leaves empty, so that an untouched turn compares equal to the saved one.
 * Everything else a turn carries (reasoning, metadata) is kept: an edit must not lose it.
 */
export function normaliseMessage(message: ConversationMessage): ConversationMessage {
  const clean: ConversationMessage = { role: message.role, content: message.content }
  if (message.loss_weight !== undefined && message.loss_weight !== null && !Number.isNaN(message.loss_weight))
    clean.loss_weight = message.loss_weight
  if (message.tool_calls && message.tool_calls.length > 0) clean.tool_calls = message.tool_calls
  if (message.tool_call_id) clean.tool_call_id = message.tool_call_id
  if (message.name) clean.name = message.name
  if (message.reasoning_content) clean.reasoning_content = message.reasoning_content
  if (hasKeys(message.metadata)) clean.metadata = message.metadata
  return clean
}

export function normaliseConversation(conversation: Conversation): Conversation {
  const clean: Conversation = { messages: conversation.messages.map(normaliseMessage) }
  // A raw-text sample's text stays even when emptied: the server then says the text is empty.
  if (conversation.text !== undefined) clean.text = conversation.text
  if (conversation.label !== undefined) clean.label = conversation.label
  if (conversation.tools && conversation.tools.length > 0) clean.tools = conversation.tools
  if (conversation.rejected && conversation.rejected.length > 0)
    clean.rejected = conversation.rejected.map(normaliseMessage)
  if (hasKeys(conversation.metadata)) clean.metadata = conversation.metadata
  return clean
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** A tool call as one line: `get_weather({"city":"Paris"})`. */
export function formatToolCall(call: ToolCall): string {
  const args = call.function.arguments
  return `${call.function.name}(${typeof args === 'string' ? args : JSON.stringify(args)})`
}

/** The role a new turn most likely has: the other side of the conversation from the turn before. */
export function nextRole(previous: ConversationRole | undefined): ConversationRole {
  if (previous === 'user' || previous === 'tool') return 'assistant'
  return 'user'
}

/**
 * The sample open in the conversation editor: the saved sample, a draft being edited, and its
 * revision history. Saving sends only what changed and becomes a new revision on the server.
 */
export const useSampleEditorStore = defineStore('sampleEditor', () => {
  const api = useApi()
  const toasts = useToastStore()
  const table = useSampleTableStore()
  const datasetsStore = useDatasetsStore()

  const sample = ref<SampleDetail | null>(null)
  const draft = ref<SampleDraft | null>(null)
  const history = ref<SampleRevisionInfo[]>([])
  /** The draft is a sample written by hand that is not saved yet. */
  const isNew = ref(false)
  const loading = ref(false)
  const saving = ref(false)

  const conversationChanged = computed(
    () =>
      !!sample.value &&
      !!draft.value &&
      !sameJson(
        normaliseConversation(draft.value.conversation),
        normaliseConversation(sample.value.conversation)
      )
  )
  /** How a confirmation speaks of the draft. */
  const draftName = computed(() => (isNew.value ? 'the new sample' : `sample #${sample.value?.id}`))
  const dirty = computed(() => {
    if (isNew.value && draft.value) {
      return draft.value.conversation.messages.some((m) => m.content !== '') || draft.value.tags.length > 0
    }
    if (!sample.value || !draft.value) return false
    return (
      conversationChanged.value ||
      !sameJson(draft.value.tags, sample.value.tags) ||
      draft.value.split !== sample.value.split ||
      draft.value.rating !== sample.value.rating
    )
  })

  async function loadHistory(sampleId: number): Promise<void> {
    try {
      const revisions = await api.call('datasets.sampleHistory', { sampleId })
      if (sample.value?.id === sampleId) history.value = revisions
    } catch (error) {
      toasts.showError(error)
    }
  }

  function show(next: SampleDetail): void {
    isNew.value = false
    sample.value = next
    draft.value = draftOf(next)
    void loadHistory(next.id)
  }

  async function open(sampleId: number): Promise<void> {
    loading.value = true
    try {
      show(await api.call('datasets.sample', { sampleId }))
    } catch (error) {
      toasts.showError(error)
    } finally {
      loading.value = false
    }
  }

  /** A blank conversation to write by hand; it becomes a sample when saved. */
  function startNew(): void {
    isNew.value = true
    sample.value = null
    history.value = []
    draft.value = {
      conversation: {
        messages: [
          { role: 'user', content: '' },
          { role: 'assistant', content: '' }
        ]
      },
      tags: [],
      split: 'train',
      rating: null
    }
  }

  function close(): void {
    isNew.value = false
    sample.value = null
    draft.value = null
    history.value = []
  }

  function discard(): void {
    if (sample.value) draft.value = draftOf(sample.value)
  }

  /** After any change on the server, the table and the dataset's counts follow. */
  async function afterChange(next: SampleDetail): Promise<void> {
    show(next)
    table.refresh()
    await datasetsStore.refreshOpen()
  }

  async function addNew(): Promise<boolean> {
    const datasetId = datasetsStore.openId
    const edit = draft.value
    if (datasetId === null || !edit) return false
    saving.value = true
    try {
      let added = await api.call('datasets.addSample', {
        id: datasetId,
        conversation: normaliseConversation(edit.conversation),
        split: edit.split,
        tags: edit.tags
      })
      // A rating is not part of a new sample: it is the first edit.
      if (edit.rating !== null)
        added = await api.call('datasets.updateSample', { sampleId: added.id, rating: edit.rating })
      await afterChange(added)
      return true
    } catch (error) {
      toasts.showError(error)
      return false
    } finally {
      saving.value = false
    }
  }

  async function save(note = ''): Promise<boolean> {
    if (isNew.value) return addNew()
    if (!sample.value || !draft.value || !dirty.value) return false
    const saved = sample.value
    const edit = draft.value
    saving.value = true
    try {
      const next = await api.call('datasets.updateSample', {
        sampleId: saved.id,
        note,
        ...(conversationChanged.value ? { conversation: normaliseConversation(edit.conversation) } : {}),
        ...(sameJson(edit.tags, saved.tags) ? {} : { tags: edit.tags }),
        ...(edit.split === saved.split ? {} : { split: edit.split }),
        ...(edit.rating === saved.rating ? {} : { rating: edit.rating })
      })
      await afterChange(next)
      return true
    } catch (error) {
      toasts.showError(error)
      return false
    } finally {
      saving.value = false
    }
  }

  async function undo(): Promise<void> {
    if (!sample.value) return
    saving.value = true
    try {
      await afterChange(await api.call('datasets.undoSample', { sampleId: sample.value.id }))
    } catch (error) {
      toasts.showError(error)
    } finally {
      saving.value = false
    }
  }

  async function revert(revision: number): Promise<void> {
    if (!sample.value) return
    saving.value = true
    try {
      await afterChange(await api.call('datasets.revertSample', { sampleId: sample.value.id, revision }))
    } catch (error) {
      toasts.showError(error)
    } finally {
      saving.value = false
    }
  }

  function turns(list: TurnList): ConversationMessage[] | null {
    const conversation = draft.value?.conversation
    if (!conversation) return null
    if (list === 'rejected') return (conversation.rejected ??= [])
    return conversation.messages
  }

  function addTurn(list: TurnList, role?: ConversationRole): void {
    const target = turns(list)
    if (!target) return
    target.push({ role: role ?? nextRole(target.at(-1)?.role), content: '' })
  }

  function removeTurn(list: TurnList, index: number): void {
    turns(list)?.splice(index, 1)
  }

  function moveTurn(list: TurnList, index: number, delta: -1 | 1): void {
    const target = turns(list)
    const to = index + delta
    if (!target || to < 0 || to >= target.length) return
    const [turn] = target.splice(index, 1)
    target.splice(to, 0, turn)
  }

  function addTag(tag: string): void {
    const clean = tag.trim()
    if (draft.value && clean && !draft.value.tags.includes(clean)) draft.value.tags.push(clean)
  }

  function removeTag(tag: string): void {
    if (draft.value) draft.value.tags = draft.value.tags.filter((t) => t !== tag)
  }

  return {
    sample,
    draft,
    history,
    isNew,
    loading,
    saving,
    draftName,
    dirty,
    open,
    startNew,
    close,
    discard,
    save,
    undo,
    revert,
    addTurn,
    removeTurn,
    moveTurn,
    addTag,
    removeTag
  }
})
