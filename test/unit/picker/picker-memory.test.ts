// What the picker keeps grows with pieces (a few typed arrays) plus one
// bitfield per peer that is not a seed (pieces / 8 bytes): never a number per
// piece per peer. Measured as the heap and ArrayBuffers still held after a
// forced full GC, so a regression to arrays of numbers or per-piece objects
// shows as bytes, not as time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Bitfield } from '../../../src/core/bitfield.ts'
import { BLOCK_SIZE } from '../../../src/core/types.ts'
import { PiecePicker } from '../../../src/picker/piece-picker.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Bytes of heap and ArrayBuffers alive after full collections. */
function retained(): number {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

const PIECES = 200_000
const PEERS = 20

test('per-piece picker state is a few bytes a piece, and each more peer adds its bitfield, not a number per piece', () => {
  // Every peer has the first half: those pieces all sit in one availability bucket, whatever the count,
  // so the only thing a further peer can add is its own record.
  const half = new Bitfield(PIECES)
  for (let i = 0; i < PIECES / 2; i++) half.set(i)
  const base = retained()
  const picker = new PiecePicker({ pieceCount: PIECES, pieceLength: BLOCK_SIZE, totalLength: PIECES * BLOCK_SIZE, rng: seededRandom(7) })
  const fresh = retained() - base
  for (let p = 0; p < PEERS; p++) picker.addPeer(`a${p}`, half)
  const withSome = retained()
  for (let p = 0; p < PEERS; p++) picker.addPeer(`b${p}`, half)
  const perPeer = (retained() - withSome) / PEERS
  // Seeds cost nothing per piece.
  const beforeSeeds = retained()
  for (let p = 0; p < PEERS; p++) picker.handleHaveAll(`s${p}`)
  const perSeed = (retained() - beforeSeeds) / PEERS
  console.log(`picker of ${PIECES} pieces: ${(fresh / PIECES).toFixed(1)} bytes a piece; ${Math.round(perPeer)} bytes a partial peer, ${Math.round(perSeed)} a seed`)
  assert.ok(fresh / PIECES <= 20, `${(fresh / PIECES).toFixed(1)} bytes a piece with no peers (typed arrays: ~17)`)
  assert.ok(perPeer <= PIECES / 8 + 8192, `${Math.round(perPeer)} bytes a partial peer; its bitfield is ${PIECES / 8}`)
  assert.ok(perSeed <= 4096, `${Math.round(perSeed)} bytes a seed`)
  assert.ok(picker.isInteresting(`a0`) && picker.pickBlocks('b3', 4).every((b) => b.index < PIECES / 2), 'the picker still works')
})
