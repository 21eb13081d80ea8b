/** `finetune-studio` command line: the same API handlers as the app, no GUI. */
import { runCli } from './cli/index'

process.exitCode = await runCli(process.argv.slice(2))
