// Every command's options go through one parser; a mistake is our one line naming
// the command and its help, never Node's own text.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FriendError } from '../../../src/core/types.ts'
import { commandLineMistake, parseCommandLine } from '../../../src/cli/command-line.ts'

const OPTIONS = { output: { type: 'string', short: 'o' }, quiet: { type: 'boolean', short: 'q' }, peer: { type: 'string', multiple: true } } as const

test('a clean command line parses as parseArgs would', () => {
  const { values, positionals } = parseCommandLine('add', { args: ['x.torrent', '-o', 'out', '-q', '--peer', 'a:1', '--peer=b:2', '--', '--literal'], allowPositionals: true, options: OPTIONS })
  assert.deepEqual({ ...values }, { output: 'out', quiet: true, peer: ['a:1', 'b:2'] })
  assert.deepEqual(positionals, ['x.torrent', '--literal'])
  assert.equal(commandLineMistake({ args: ['-oout', '--output=-x'], options: OPTIONS }), undefined)
})

test('each kind of mistake, in our words', () => {
  const cases: [string[], boolean, string][] = [
    [['--bogus'], true, 'unknown option --bogus for add'],
    [['x', '-z'], true, 'unknown option -z for add'],
    [['-qz'], true, 'unknown option -z for add'],
    [['--bogus=1'], true, 'unknown option --bogus for add'],
    [['-o'], true, 'option -o for add needs a value'],
    [['x', '--output'], true, 'option --output for add needs a value'],
    [['--output', '-q'], true, 'option --output for add needs a value (one starting with "-" is written --output=-q)'],
    [['-o', '-q'], true, 'option -o for add needs a value (one starting with "-" is written -o-q)'],
    [['--quiet=yes'], true, 'option --quiet for add takes no value'],
    [['stray'], false, 'unexpected argument "stray" for add'],
    [['--', '--x'], false, 'unexpected argument "--x" for add'],
  ]
  for (const [args, allowPositionals, expected] of cases) {
    assert.equal(commandLineMistake({ args, allowPositionals, options: OPTIONS }, ' for add'), expected, args.join(' '))
  }
})

test('parseCommandLine throws one FriendError line that points to the command\'s help', () => {
  const attempt = (command: string, args: string[]) => () => parseCommandLine(command, { args, options: OPTIONS })
  assert.throws(attempt('add', ['--bogus']), (err: unknown) => err instanceof FriendError && err.message === 'unknown option --bogus for add; see friendtorrent add --help')
  assert.throws(attempt('', ['--bogus']), (err: unknown) => err instanceof FriendError && err.message === 'unknown option --bogus; see friendtorrent help')
  assert.throws(attempt('list', ['foo']), (err: unknown) => err instanceof FriendError && err.message === 'unexpected argument "foo" for list; see friendtorrent list --help')
})
