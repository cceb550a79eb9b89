// Resume data of a library torrent: what the data saved at its last stop
// still vouches for when it starts again (pieces of files whose size and
// mtime are unchanged are trusted, the rest hashed again), and saving it
// right after a flush so a match later means "nothing changed".
// We mark a piece verified only once its bytes are on disk, so a crash never
// leaves a saved bit over unwritten data.
import { Bitfield } from '../core/bitfield.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import type { Torrent } from '../torrent/torrent.ts'
import type { StateStore } from './state-store.ts'
import { diskFiles, unchangedFiles } from './file-stats.ts'
import type { LibraryEntry } from './state-store.ts'

/** The saved bits (`have`) and the pieces touching changed files (`recheck`); nothing when there is no resume data or it no longer matches. */
export async function resumeState(store: StateStore, meta: Metainfo, entry: LibraryEntry): Promise<{ have?: Bitfield; recheck?: Bitfield }> {
  const resume = await store.loadResume(entry.infoHash)
  const unchanged = resume && (await unchangedFiles(resume, meta, entry.savePath))
  if (!resume || !unchanged) return {}
  const have = new Bitfield(meta.pieceCount, resume.bitfield)
  const recheck = new Bitfield(meta.pieceCount)
  meta.files.forEach((file, i) => {
    if (unchanged[i] || file.length === 0) return
    const first = Math.floor(file.offset / meta.pieceLength)
    const last = Math.floor((file.offset + file.length - 1) / meta.pieceLength)
    for (let p = first; p <= last; p++) recheck.set(p)
  })
  return { have, recheck: recheck.hasNone() ? undefined : recheck }
}

/** Saved pieces taken as verified without a re-hash. */
export function trustedPieces(have: Bitfield, recheck: Bitfield | undefined): number {
  let n = have.count()
  if (recheck) for (let i = 0; i < have.length; i++) if (have.get(i) && recheck.get(i)) n--
  return n
}

/**
 * Saves the torrent's verified pieces and its files' sizes and mtimes. A
 * running torrent is flushed first; a stopped one has flushed already.
 * Returns false when there is nothing to save yet (still checking); throws
 * when saving failed.
 */
export async function saveResume(store: StateStore, meta: Metainfo, entry: LibraryEntry, torrent: Torrent, running: boolean): Promise<boolean> {
  const bitfield = torrent.verifiedPieces()
  if (!bitfield) return false
  if (running) await torrent.flush()
  const files = await diskFiles(meta, entry.savePath)
  await store.saveResume({ infoHash: entry.infoHash, pieceCount: meta.pieceCount, bitfield: bitfield.toBuffer(), files })
  return true
}
