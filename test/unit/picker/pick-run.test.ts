// pickRun: what a web seed is given — one piece chosen as for a peer, then
// the pieces right after it while unstarted and wanted, so a run is a few
// contiguous byte ranges; never what a peer has outstanding, never endgame
// duplicates. And contiguous(): blocks cut into stretches that follow on.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Bitfield } from '../../../src/core/bitfield.ts'
import { BLOCK_SIZE, type BlockRef } from '../../../src/core/types.ts'
import { PiecePicker } from '../../../src/picker/piece-picker.ts'
import { contiguous } from '../../../src/torrent/web-seed.ts'
import { seededRandom } from '../../helpers/seeded-random.ts'

const B = BLOCK_SIZE

function picker(pieceCount: number, blocksPerPiece: number, seed = 1): PiecePicker {
  return new PiecePicker({ pieceCount, pieceLength: blocksPerPiece * B, totalLength: pieceCount * blocksPerPiece * B, rng: seededRandom(seed), randomFirstPieces: 0 })
}

const offsets = (blocks: BlockRef[], blocksPerPiece: number) => blocks.map((b) => b.index * blocksPerPiece + b.begin / B)

test('a run continues into the following pieces and stops at the cap', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const p = picker(16, 2, seed)
    p.addPeer('ws')
    p.handleHaveAll('ws')
    const run = p.pickRun('ws', 6)
    const at = offsets(run, 2)
    assert.equal(run.length, Math.min(6, 32 - at[0]), 'up to the cap, or to the end of the torrent')
    // Consecutive blocks from where it started (or up to the last piece: then shorter).
    for (let i = 1; i < at.length; i++) assert.equal(at[i], at[i - 1] + 1, `seed ${seed}: ${at}`)
  }
})

test('a run stops before a piece that is started, verified or unwanted, and at the end of the torrent', () => {
  const p = new PiecePicker({ pieceCount: 6, pieceLength: 2 * B, totalLength: 6 * 2 * B, rng: () => 0, randomFirstPieces: 0, have: Bitfield.full(6) })
  // Nothing missing: nothing to pick.
  p.addPeer('ws')
  p.handleHaveAll('ws')
  assert.deepEqual(p.pickRun('ws', 100), [])

  const q = picker(6, 2)
  q.addPeer('peer', Bitfield.full(6))
  q.addPeer('ws')
  q.handleHaveAll('ws')
  q.setPriority(4, 0)
  q.markVerified(2)
  // The peer starts some piece; the web seed's runs never touch its blocks and never cross 2 (ours), 4 (unwanted) or the end.
  const peerBlocks = q.pickBlocks('peer', 1)
  const taken = new Set(peerBlocks.map((b) => `${b.index}:${b.begin}`))
  const seen: BlockRef[] = []
  for (let round = 0; round < 10; round++) {
    const run = q.pickRun('ws', 100)
    if (run.length === 0) break
    const at = offsets(run, 2)
    for (let i = 1; i < at.length; i++) assert.equal(at[i], at[i - 1] + 1, `a run is contiguous: ${at}`)
    for (const b of run) {
      assert.ok(![2, 4].includes(b.index), `piece ${b.index} is ours or unwanted`)
      assert.ok(!taken.has(`${b.index}:${b.begin}`), 'never a block the peer has outstanding')
    }
    seen.push(...run)
  }
  // Every block but the peer's one of pieces 0, 1, 3, 5 went to the web seed, each once.
  assert.equal(seen.length, 4 * 2 - 1)
  assert.equal(new Set(seen.map((b) => `${b.index}:${b.begin}`)).size, seen.length)
  // Endgame now (all missing blocks requested): a web seed gets no duplicates.
  assert.equal(q.inEndgame(), true)
  assert.deepEqual(q.pickRun('ws', 100), [])
})

test('contiguous() cuts blocks where they stop following each other', () => {
  const pieceLength = 2 * B
  const blocks: BlockRef[] = [
    { index: 3, begin: 0, length: B }, { index: 3, begin: B, length: B }, { index: 4, begin: 0, length: B },
    { index: 7, begin: B, length: B }, { index: 9, begin: 0, length: 100 },
  ]
  assert.deepEqual(contiguous(blocks, pieceLength).map((s) => s.length), [3, 1, 1])
  assert.deepEqual(contiguous([], pieceLength), [])
})
