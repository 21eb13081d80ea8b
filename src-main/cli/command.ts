import { parseArgs } from 'node:util'

export interface OptionSpec {
  type: 'string' | 'boolean'
  description: string
  valueName?: string
  default?: string | boolean
  /** A string option that may be given several times; its value is then the list, in order. */
  multiple?: boolean
}

export interface PositionalSpec {
  name: string
  description: string
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
}

export interface CliIO {
  out(line: string): void
  err(line: string): void
  /** Writes text as it is, without a newline (streamed output); absent, commands print whole lines. */
  write?(text: string): void
}

/** One `finetune-studio <words…>` command: its help is generated from this declaration. */
export interface Command {
  words: string[]
  summary: string
  positionals?: PositionalSpec[]
  options?: Record<string, OptionSpec>
  /** Longer help shown under the usage line. */
  details?: string
  run(args: ParsedArgs, io: CliIO): Promise<void>
}

/** A mistake in how the command was called: exit code 2 and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print JSON instead of text' }

/** A string option, for option tables written one option a line. */
export function stringOption(
  valueName: string,
  description: string,
  extra: Partial<OptionSpec> = {}
): OptionSpec {
  return { type: 'string', valueName, description, ...extra }
}

export function flagOption(description: string): OptionSpec {
  return { type: 'boolean', description }
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  store: {
    type: 'string',
    valueName: 'DIR',
    description: 'store folder (else $FINETUNE_STUDIO_HOME, else the app-data folder)'
  },
  help: { type: 'boolean', description: 'show this help' }
}

function optionLine(name: string, spec: OptionSpec): string {
  const flag = spec.type === 'string' ? `--${name} ${spec.valueName ?? 'VALUE'}` : `--${name}`
  const fallback = spec.default !== undefined && spec.default !== false ? ` (default ${spec.default})` : ''
  return `  ${flag.padEnd(28)} ${spec.description}${fallback}`
}

export function commandHelp(command: Command): string {
  const positionals = (command.positionals ?? []).map((p) => p.name.toUpperCase()).join(' ')
  const lines = [
    `usage: finetune-studio ${command.words.join(' ')}${positionals ? ` ${positionals}` : ''} [options]`,
    ''
  ]
  lines.push(command.summary)
  if (command.details) lines.push('', command.details)
  if (command.positionals?.length) {
    lines.push('', 'arguments:')
    for (const p of command.positionals) lines.push(`  ${p.name.toUpperCase().padEnd(28)} ${p.description}`)
  }
  lines.push('', 'options:')
  for (const [name, spec] of Object.entries({ ...command.options, ...GLOBAL_OPTIONS }))
    lines.push(optionLine(name, spec))
  return lines.join('\n')
}

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const specs = { ...command.options, ...GLOBAL_OPTIONS }
  const options = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false }])
  )
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.split('\n')[0] : String(err))
  }
  const values: ParsedArgs['values'] = {}
  for (const [name, spec] of Object.entries(specs)) {
    // Only string options take `multiple`, so a list is a list of strings.
    values[name] = (parsed.values[name] as ParsedArgs['values'][string]) ?? spec.default
  }
  const expected = command.positionals ?? []
  if (!values.help && parsed.positionals.length !== expected.length) {
    const names = expected.map((p) => p.name.toUpperCase()).join(' ') || 'no arguments'
    throw new UsageError(
      `${command.words.join(' ')} takes ${names}, got ${parsed.positionals.length} argument(s)`
    )
  }
  return { values, positionals: parsed.positionals }
}

/** Picks the command whose words match the longest prefix of argv. */
export function findCommand(
  commands: Command[],
  argv: string[]
): { command: Command; rest: string[] } | null {
  let best: Command | null = null
  for (const command of commands) {
    const matches = command.words.every((word, i) => argv[i] === word)
    if (matches && (!best || command.words.length > best.words.length)) best = command
  }
  return best ? { command: best, rest: argv.slice(best.words.length) } : null
}
