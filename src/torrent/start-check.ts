// Which pieces a starting torrent already has on disk: the resume data's word,
// trusted without looking at a file (the storage is told which files those
// pieces need, so a missing one fails its first read or write as "data
// missing" instead of being recreated empty), or a full check on a first
// start (after creating the empty files no write would ever create).
import type { Bitfield } from '../core/bitfield.ts'
import type { Metainfo } from '../metainfo/metainfo.ts'
import { checkPieces } from '../storage/check.ts'
import type { Storage } from '../storage/storage.ts'

export interface StartCheck {
  /** Verified pieces from resume data, when it matched this torrent. */
  resumeHave: Bitfield | undefined
  onProgress: (checked: number, total: number) => void
}

export async function piecesOnDisk(storage: Storage, meta: Metainfo, { resumeHave, onProgress }: StartCheck): Promise<Bitfield> {
  if (resumeHave) {
    storage.assumeOnDisk?.(resumeHave)
    return resumeHave
  }
  // A first start (or a full recheck): what no write will ever create is made now.
  await storage.createEmptyFiles?.()
  return checkPieces(storage, meta, { onProgress })
}
