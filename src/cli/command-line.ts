// Parses one command's options with node:util's parseArgs, but a mistake on
// the command line becomes our one line naming the command and where its
// help is ("unknown option --bogus for add; see friendtorrent add --help"),
// never Node's own multi-sentence text. Every command parses through here.
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import { errorMessage, FriendError } from '../core/types.ts'

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>

/** `command` names the verb for messages; '' is friendtorrent itself (the dashboard). */
export function parseCommandLine<T extends ParseArgsConfig>(command: string, config: T): Parsed<T> {
  const help = command ? `friendtorrent ${command} --help` : 'friendtorrent help'
  const mistake = commandLineMistake(config, command ? ` for ${command}` : '')
  if (mistake) throw new FriendError(`${mistake}; see ${help}`)
  try {
    return parseArgs(config)
  } catch (err) {
    // Whatever the token walk below lets through and strict parsing still refuses.
    if (!String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) throw err
    throw new FriendError(`${errorMessage(err).split('\n').map((line) => line.trim()).filter(Boolean).join(' ')}; see ${help}`)
  }
}

/** The first thing wrong with the arguments, in our words (`where` follows the option: " for add"), or undefined. */
export function commandLineMistake(config: ParseArgsConfig, where = ''): string | undefined {
  const options = config.options ?? {}
  const { tokens } = parseArgs({ ...config, strict: false, tokens: true, allowPositionals: true })
  for (const token of tokens) {
    if (token.kind === 'positional' && !config.allowPositionals) return `unexpected argument "${token.value}"${where}`
    if (token.kind !== 'option') continue
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined
    const option = `${token.rawName}${where}`
    if (!spec) return `unknown option ${option}`
    if (spec.type === 'boolean' && token.value !== undefined) return `option ${option} takes no value`
    if (spec.type === 'string' && token.value === undefined) return `option ${option} needs a value`
    // `--out -q`: strict parsing refuses a value that looks like an option unless it is written inline.
    if (spec.type === 'string' && !token.inlineValue && token.value?.startsWith('-')) {
      return `option ${option} needs a value (one starting with "-" is written ${token.rawName.startsWith('--') ? `${token.rawName}=${token.value}` : `${token.rawName}${token.value}`})`
    }
  }
  return undefined
}
