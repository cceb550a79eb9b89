// A real, valid info dict of a few hundred KiB (so BEP 9 splits it into many 16 KiB
// pieces), plus a peer that answers requests from it the way the wire would.

import { createHash } from 'node:crypto'
import bencode from 'bencode'
import { metadataResponse } from '../../../src/metadata/metadata-server.ts'

const PIECE_LENGTH = 16 * 1024
const FILE_COUNT = 1500
const FILE_LENGTH = 100_000

export interface InfoFixture {
  info: Buffer
  infoHash: Buffer
  pieceCount: number
}

/** Deterministic: the same bytes every run, so failures reproduce. */
export function bigInfo(): InfoFixture {
  const files = Array.from({ length: FILE_COUNT }, (_, i) => ({
    length: FILE_LENGTH,
    path: [`season-${Math.floor(i / 100)}`, `episode-${String(i).padStart(4, '0')}.mkv`],
  }))
  const payloadPieces = Math.ceil((FILE_COUNT * FILE_LENGTH) / PIECE_LENGTH)
  const pieces = Buffer.alloc(payloadPieces * 20)
  for (let i = 0; i < payloadPieces; i++) createHash('sha1').update(`piece ${i}`).digest().copy(pieces, i * 20)
  const info = Buffer.from(bencode.encode({ name: 'a big show', 'piece length': PIECE_LENGTH, files, pieces }))
  return { info, infoHash: createHash('sha1').update(info).digest(), pieceCount: Math.ceil(info.length / 16384) }
}

/** The data a peer holding `info` sends for `piece` (via the real server function). */
export function served(info: Buffer, piece: number): { totalSize: number; data: Buffer } {
  const m = metadataResponse(info, piece)
  if (m.msgType !== 'data') throw new Error(`fixture asked for piece ${piece} past the end`)
  return { totalSize: m.totalSize, data: m.data }
}
