// Which pieces a starting torrent already has on disk: the resume data's word
// when its files are unchanged, a hash of just the pieces touching changed
// files (the rest trusted), or a full check on a first start (after creating
// the empty files no write would ever create).
import type { Bitfield } from '../core/bitfield.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { checkPieces } from '../storage/check.ts'
import type { Storage } from '../storage/storage.ts'

export interface StartCheck {
  /** Verified pieces from resume data, when it matched this torrent. */
  resumeHave: Bitfield | undefined
  /** Pieces to hash again (they touch files changed since the resume data was saved). */
  recheck: Bitfield | undefined
  onProgress: (checked: number, total: number) => void
}

export async function piecesOnDisk(storage: Storage, meta: Metainfo, { resumeHave, recheck, onProgress }: StartCheck): Promise<Bitfield> {
  if (resumeHave && recheck) {
    // Trusted pieces stand; pieces touching changed files are hashed again
    // (those verified after the resume data was saved are found this way).
    const have = await checkPieces(storage, meta, { only: recheck, onProgress })
    for (let i = 0; i < meta.pieceCount; i++) if (!recheck.get(i) && resumeHave.get(i)) have.set(i)
    return have
  }
  // Resume data matched the files on disk (sizes and mtimes): no re-hash.
  if (resumeHave) return resumeHave
  // A first start (or a full recheck): what no write will ever create is made now.
  await storage.createEmptyFiles?.()
  return checkPieces(storage, meta, { onProgress })
}
