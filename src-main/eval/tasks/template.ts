/**
 * Jinja templates of task files, rendered with @huggingface/jinja the way lm-eval's jinja2
 * environment renders them: `StrictUndefined` (a name or key the document lacks is an error, not
 * an empty string; `is defined` and `default` still see it as undefined), `keep_trailing_newline`,
 * and blocks left as written (no `trim_blocks` / `lstrip_blocks`, which @huggingface/jinja's
 * `Template` turns on for chat templates). Python's `list.index`, used by lm-eval's ARC task
 * (`{{choices.label.index(answerKey)}}`), is added to lists.
 *
 * Known differences from Python's jinja2 (documented in docs/EVALUATION.md): booleans render as
 * `true`/`false`, `none` renders empty, a float with no fraction renders without `.0`, lists render
 * with double quotes; the `regex_replace` filter lm-eval registers is not available.
 */
import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja'
import { budgetedRange } from '../../shared/template-range'

type Program = ReturnType<typeof parse>
type Node = Parameters<Interpreter['evaluate']>[0]
type RuntimeValue = ReturnType<Interpreter['evaluate']>

/** What a template error says, before the caller adds the file, key and row. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TemplateError'
  }
}

const GLOBALS: Record<string, unknown> = {
  true: true,
  false: false,
  none: null,
  True: true,
  False: false,
  None: null
}

function describe(node: Node): string {
  if (!node) return '?'
  switch (node.type) {
    case 'Identifier':
      return (node as unknown as { value: string }).value
    case 'MemberExpression': {
      const member = node as unknown as { object: Node; property: Node; computed: boolean }
      const property = describe(member.property)
      return member.computed
        ? `${describe(member.object)}[${property}]`
        : `${describe(member.object)}.${property}`
    }
    case 'StringLiteral':
      return JSON.stringify((node as unknown as { value: string }).value)
    case 'IntegerLiteral':
      return String((node as unknown as { value: number }).value)
    default:
      return node.type
  }
}

function isUndefined(value: RuntimeValue): boolean {
  return value.type === 'UndefinedValue'
}

function isList(value: RuntimeValue): value is RuntimeValue & { value: RuntimeValue[] } {
  return value.type === 'ArrayValue' || value.type === 'TupleValue'
}

/** `list.index(x)` as Python: the first position of x, or an error when x is not in the list. */
function listIndexMethod(list: RuntimeValue & { value: RuntimeValue[] }): RuntimeValue {
  const scratch = new Environment()
  return scratch.set('index', (wanted: unknown) => {
    const at = list.value.findIndex((item) => item.value === wanted)
    if (at < 0) throw new TemplateError(`${JSON.stringify(wanted)} is not in list`)
    return at
  })
}

class StrictInterpreter extends Interpreter {
  /** > 0 while evaluating inside `is defined`, `is undefined` or `| default(…)`. */
  private undefinedAllowed = 0

  override evaluate(node: Node, environment: Environment): RuntimeValue {
    if (node?.type === 'TestExpression' && this.testsDefinedness(node))
      return this.allowingUndefined(node, environment)
    if (node?.type === 'FilterExpression' && this.filtersDefault(node))
      return this.allowingUndefined(node, environment)
    if (node?.type === 'MemberExpression') {
      const method = this.listMethod(node, environment)
      if (method) return method
    }
    const value = super.evaluate(node, environment)
    if (
      this.undefinedAllowed === 0 &&
      isUndefined(value) &&
      (node?.type === 'Identifier' || node?.type === 'MemberExpression')
    ) {
      throw new TemplateError(`'${describe(node)}' is undefined`)
    }
    return value
  }

  private allowingUndefined(node: Node, environment: Environment): RuntimeValue {
    this.undefinedAllowed++
    try {
      return super.evaluate(node, environment)
    } finally {
      this.undefinedAllowed--
    }
  }

  private testsDefinedness(node: Node): boolean {
    const test = (node as unknown as { test: { value: string } }).test.value
    return test === 'defined' || test === 'undefined'
  }

  private filtersDefault(node: Node): boolean {
    const filter = (
      node as unknown as { filter: { type: string; value?: string; callee?: { value: string } } }
    ).filter
    const name = filter.type === 'Identifier' ? filter.value : filter.callee?.value
    return name === 'default' || name === 'd'
  }

  private listMethod(node: Node, environment: Environment): RuntimeValue | null {
    const member = node as unknown as { object: Node; property: Node; computed: boolean }
    if (member.computed || member.property?.type !== 'Identifier') return null
    if ((member.property as unknown as { value: string }).value !== 'index') return null
    const object = this.evaluate(member.object, environment)
    return isList(object) ? listIndexMethod(object) : null
  }
}

export class TaskTemplate {
  readonly source: string
  private readonly program: Program

  /** Throws a TemplateError when the source is not valid Jinja. */
  constructor(source: string) {
    this.source = source
    try {
      // The lexer drops one trailing newline (jinja2's default); lm-eval keeps it, so add one.
      this.program = parse(tokenize(`${source}\n`, {}))
    } catch (error) {
      throw new TemplateError(`cannot parse the template: ${(error as Error).message}`)
    }
  }

  render(variables: Readonly<Record<string, unknown>>): string {
    const environment = new Environment()
    for (const [name, value] of Object.entries(variables)) environment.set(name, value)
    // A document column named like a global (e.g. "range") hides the global, as in jinja2.
    const globals = { ...GLOBALS, range: budgetedRange((message) => new TemplateError(message)) }
    for (const [name, value] of Object.entries(globals))
      if (!(name in variables)) environment.set(name, value)
    try {
      return new StrictInterpreter(environment).run(this.program).value as string
    } catch (error) {
      throw error instanceof TemplateError ? error : new TemplateError((error as Error).message)
    }
  }
}
