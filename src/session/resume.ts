// Resume data of a library torrent: the verified pieces saved at its last
// stop, trusted as they are when it starts again (no file is looked at: one
// missing or short under a trusted piece fails its first read or write with
// "data missing"), and saving them right after a flush.
// We mark a piece verified only once its bytes are on disk, so a crash never
// leaves a saved bit over unwritten data.
import { Bitfield } from '../core/bitfield.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { Torrent } from '../torrent/torrent.ts'
import type { StateStore } from './state-store.ts'
import type { LibraryEntry } from './state-store.ts'

/** The saved verified pieces, or undefined when there is no resume data or it is for another layout. */
export async function resumedPieces(store: StateStore, meta: Metainfo, entry: LibraryEntry): Promise<Bitfield | undefined> {
  const resume = await store.loadResume(entry.infoHash)
  if (!resume || resume.infoHash.toLowerCase() !== meta.infoHashHex || resume.pieceCount !== meta.pieceCount) return undefined
  return new Bitfield(meta.pieceCount, resume.bitfield)
}

/**
 * Saves the torrent's verified pieces. A running torrent is flushed first; a
 * stopped one has flushed already. Returns false when there is nothing to
 * save yet (still checking); throws when saving failed.
 */
export async function saveResume(store: StateStore, meta: Metainfo, entry: LibraryEntry, torrent: Torrent, running: boolean): Promise<boolean> {
  const bitfield = torrent.verifiedPieces()
  if (!bitfield) return false
  if (running) await torrent.flush()
  await store.saveResume({ infoHash: entry.infoHash, pieceCount: meta.pieceCount, bitfield: bitfield.toBuffer() })
  return true
}
