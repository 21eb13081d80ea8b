import { APP_VERSION } from '../version'
import { commandHelp, findCommand, parseCommandArgs, UsageError, type CliIO, type Command } from './command'
import { cacheCommands } from './commands/cache'
import { datasetCommands } from './commands/datasets'
import { demoCommand } from './commands/demo'
import { evalCommand } from './commands/eval'
import { evalCommands } from './commands/eval-browse'
import { exportCommand, exportsDeleteCommand, exportsListCommand } from './commands/export'
import { generateCommand } from './commands/generate'
import { infoCommand } from './commands/info'
import { modelsListCommand, modelsRegisterCommand } from './commands/models'
import {
  runsCancelCommand,
  runsContinueCommand,
  runsDeleteCommand,
  runsListCommand,
  runsLogCommand,
  runsPauseCommand,
  runsResumeCommand,
  runsShowCommand,
  runsStopCommand
} from './commands/runs'
import { recipesCommand } from './commands/recipes'
import { rewardsListCommand, rewardsScoreCommand } from './commands/rewards'
import { scoreCommand } from './commands/score'
import { serveCommand } from './commands/serve'
import { trainCommand } from './commands/train'

export const commands: Command[] = [
  demoCommand,
  infoCommand,
  serveCommand,
  ...datasetCommands,
  modelsListCommand,
  modelsRegisterCommand,
  runsListCommand,
  runsShowCommand,
  runsLogCommand,
  runsPauseCommand,
  runsResumeCommand,
  runsStopCommand,
  runsCancelCommand,
  runsContinueCommand,
  runsDeleteCommand,
  recipesCommand,
  rewardsListCommand,
  rewardsScoreCommand,
  evalCommand,
  ...evalCommands,
  scoreCommand,
  generateCommand,
  trainCommand,
  exportCommand,
  exportsListCommand,
  exportsDeleteCommand,
  ...cacheCommands
]

export function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.words.join(' ').length))
  return [
    `Finetune Studio ${APP_VERSION}: fine-tune language models on this machine.`,
    '',
    'usage: finetune-studio <command> [options]     (finetune-studio <command> --help for more)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.words.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'global options: --store DIR (else $FINETUNE_STUDIO_HOME, else the app-data folder), --help, --version'
  ].join('\n')
}

const consoleIO: CliIO = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  write: (text) => process.stdout.write(text)
}

/** Runs one CLI invocation and returns its exit code: 0 ok, 1 failed, 2 wrong usage. */
export async function runCli(argv: string[], io: CliIO = consoleIO): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(topLevelHelp())
    return 0
  }
  if (argv[0] === '--version') {
    io.out(APP_VERSION)
    return 0
  }
  const found = findCommand(commands, argv)
  if (!found) {
    io.err(`finetune-studio: unknown command "${argv.slice(0, 2).join(' ')}" (see finetune-studio --help)`)
    return 2
  }
  try {
    const args = parseCommandArgs(found.command, found.rest)
    if (args.values.help) {
      io.out(commandHelp(found.command))
      return 0
    }
    await found.command.run(args, io)
    return 0
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    // One line, so scripts can show it as it is.
    io.err(`finetune-studio ${found.command.words.join(' ')}: ${message.split('\n')[0]}`)
    if (err instanceof UsageError) {
      io.err(`see: finetune-studio ${found.command.words.join(' ')} --help`)
      return 2
    }
    return 1
  }
}
