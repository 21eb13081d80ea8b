/**
 * Where @huggingface/jinja (0.5.x) and Python's jinja2 disagree on operations chat templates use,
 * brought in line by rewriting the parsed template, so that a template renders as it does in
 * transformers (test/engine/tokenizer/template-corpus.test.ts holds the reference renderings):
 *
 *   s.strip(chars), s.lstrip(chars), s.rstrip(chars)   the argument is ignored (all whitespace is
 *       stripped); Qwen3 renders `content.lstrip('\n')`, so an answer's leading spaces were lost.
 *   a == b, a != b   compare lists and dicts by identity; Python compares their contents (Mistral
 *       places the tool list with `message == user_messages[-1]`).
 *   range(…)   calls our budgeted range (shared/template-range.ts), handed to each rendering, since a
 *       hostile template's `range(10**9)` would build a billion values (the library's global
 *       `range` cannot be replaced: the environment refuses to set it twice).
 *
 * The rewritten nodes call functions handed to the template as variables under names no template
 * uses. The interpreter dispatches on each node's `type`, so a node is rewritten in place.
 */

/** Template variables the rewritten nodes call. */
export const PYTHON_SEMANTICS: Record<string, (...args: unknown[]) => unknown> = {
  __fs_strip: (value, which, chars) => stripChars(value, which as StripKind, chars),
  __fs_equals: (a, b) => runtimeEquals(a, b),
  __fs_not_equals: (a, b) => !runtimeEquals(a, b)
}

type StripKind = 'strip' | 'lstrip' | 'rstrip'
const STRIP_KINDS: ReadonlySet<string> = new Set(['strip', 'lstrip', 'rstrip'])

interface Node {
  type: string
  [key: string]: unknown
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).type === 'string'
}

/** Rewrites every node of a parsed template that jinja2 evaluates differently (see above). */
export function applyPythonSemantics(node: unknown): void {
  if (Array.isArray(node)) {
    for (const child of node) applyPythonSemantics(child)
    return
  }
  if (typeof node !== 'object' || node === null) return
  for (const child of Object.values(node)) applyPythonSemantics(child)
  if (isNode(node)) rewrite(node)
}

const identifier = (value: string): Node => ({ type: 'Identifier', value })

function rewrite(node: Node): void {
  if (node.type === 'CallExpression') {
    const callee = node.callee as Node
    const property = callee.property as Node | undefined
    const args = node.args as Node[]
    if (callee.type === 'Identifier' && callee.value === 'range') {
      node.callee = identifier('__fs_range')
      return
    }
    const isStrip =
      callee.type === 'MemberExpression' &&
      callee.computed === false &&
      property?.type === 'Identifier' &&
      STRIP_KINDS.has(property.value as string)
    if (isStrip && args.length === 1) {
      node.callee = identifier('__fs_strip')
      node.args = [callee.object as Node, { type: 'StringLiteral', value: property!.value }, args[0]]
    }
    return
  }
  if (node.type === 'BinaryExpression') {
    const operator = (node.operator as { value: string }).value
    if (operator !== '==' && operator !== '!=') return
    const args = [node.left as Node, node.right as Node]
    for (const key of Object.keys(node)) delete node[key]
    Object.assign(node, {
      type: 'CallExpression',
      callee: identifier(operator === '==' ? '__fs_equals' : '__fs_not_equals'),
      args
    })
  }
}

/** Python's str.strip family: with chars, only those characters are stripped. */
function stripChars(value: unknown, which: StripKind, chars: unknown): string {
  if (typeof value !== 'string') throw new Error(`${which}() applies to a string, got ${typeof value}`)
  if (chars === null || chars === undefined) {
    return which === 'lstrip' ? value.trimStart() : which === 'rstrip' ? value.trimEnd() : value.trim()
  }
  if (typeof chars !== 'string') throw new Error(`${which}() takes a string of characters`)
  const strip = new Set(chars)
  let start = 0
  let end = value.length
  if (which !== 'rstrip') while (start < end && strip.has(value[start])) start++
  if (which !== 'lstrip') while (end > start && strip.has(value[end - 1])) end--
  return value.slice(start, end)
}

/**
 * Python's ==, over the interpreter's values as functions receive them: the contents of a
 * runtime value (a string, a number, a Map of runtime values for a dict, an array of them for a
 * list), compared by contents all the way down.
 */
function runtimeEquals(a: unknown, b: unknown): boolean {
  const left = contents(a)
  const right = contents(b)
  if (left instanceof Map && right instanceof Map) {
    if (left.size !== right.size) return false
    for (const [key, value] of left)
      if (!right.has(key) || !runtimeEquals(value, right.get(key))) return false
    return true
  }
  if (Array.isArray(left) && Array.isArray(right)) {
    return left.length === right.length && left.every((value, i) => runtimeEquals(value, right[i]))
  }
  // What the interpreter's own == does for everything else.
  return left == right
}

/** A runtime value's contents (runtime values nest inside lists and dicts); anything else as is. */
function contents(value: unknown): unknown {
  const isRuntimeValue =
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Map) &&
    !Array.isArray(value) &&
    'value' in value &&
    typeof (value as { type?: unknown }).type === 'string'
  return isRuntimeValue ? (value as { value: unknown }).value : value
}
