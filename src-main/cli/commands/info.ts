import { JSON_OPTION, type Command } from '../command'
import { withSession } from '../session'

export const infoCommand: Command = {
  words: ['info'],
  summary: 'Show the version, store location and engine device.',
  options: { json: JSON_OPTION },
  async run(args, io) {
    const info = await withSession(args, (s) => s.call('system.info', {}))
    if (args.values.json) return io.out(JSON.stringify(info, null, 2))
    io.out(`${info.product} ${info.version}`)
    io.out(`store:   ${info.storePath}`)
    io.out(
      `engine:  onnxruntime ${info.engine.onnxruntimeVersion}, device ${info.engine.device}` +
        (info.engine.cudaAvailable ? '' : ' (CUDA EP not installed: npm run setup:cuda)')
    )
    io.out(`node:    ${info.node} on ${info.platform}`)
  }
}
