// The interface between a torrent and the bytes of its payload.
// Addresses are (piece index, offset in piece); implementations map them onto
// files. Storage never knows a peer exists and never verifies hashes itself.

import type { Bitfield } from '../core/bitfield.ts'

export interface Storage {
  /**
   * `length` bytes from `begin` in piece `index`. The range may run past the
   * end of the piece into the following ones (checkPieces reads several
   * pieces at once), but not past the end of the payload.
   */
  read(index: number, begin: number, length: number): Promise<Buffer>
  /** As read(), of `into.length` bytes, into `into` (a reused buffer: no allocation per read). */
  readInto?(index: number, begin: number, into: Buffer): Promise<void>
  /** Writes `data` at `begin` in piece `index`; must stay within that piece. */
  write(index: number, begin: number, data: Buffer): Promise<void>
  /** True when every file this piece touches exists and is long enough to hold it (so a check is worth reading it). */
  mayHavePiece(index: number): Promise<boolean>
  /** Keeps files off the disk (their bytes in pieces we still need go to a part file), or brings them back. */
  setSkipped?(fileIndexes: number | readonly number[], skipped: boolean): Promise<void>
  /** Looks at these files on disk now, many at once, so the mayHavePiece calls of a check that follow need no disk. */
  probeFiles?(fileIndexes: Iterable<number>): Promise<void>
  /**
   * A file or folder of the torrent's data that is gone from the disk (deleted
   * under us, even while a handle to it is still open), or undefined when all
   * is there. Cheap enough to call every few seconds.
   */
  findMissing?(): Promise<string | undefined>
  /**
   * Resume data vouches for these pieces: the files under them are taken to be
   * on disk and whole, without a look. Such a file is never created by a
   * write, so one gone since fails its first read or write (ENOENT) and one
   * cut short fails its read (StorageError.missing): "data missing", never
   * recreated empty under verified pieces.
   */
  assumeOnDisk?(pieces: Bitfield): void
  /** Creates the zero-length files (no write creates them); called once, before a full check. */
  createEmptyFiles?(): Promise<void>
  flush(): Promise<void>
  close(): Promise<void>
}
