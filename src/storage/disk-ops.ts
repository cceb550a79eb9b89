// Small disk helpers for FileStorage: a bounded fan-out over file spans, one
// syncfs for a flush of many files, and a whole write by fs.write's callback.
// No knowledge of torrents.
import { write as fsWrite } from 'node:fs'

/** syncfs(2) of the file system holding `dir`, through coreutils' `sync -f`; false when that cannot run. */
export async function syncFileSystem(dir: string): Promise<boolean> {
  // Loaded here, where used: a session that never flushes many files at once need not load child_process.
  const { execFile } = await import('node:child_process')
  return new Promise((resolve) => {
    execFile('sync', ['-f', dir], (err) => resolve(err === null))
  })
}

/** Runs `fn` over `items`, at most `limit` at once. */
export async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  if (items.length <= limit) {
    await Promise.all(items.map(fn))
    return
  }
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({ length: limit }, worker))
}


/**
 * Writes `length` bytes of `data` from `offset` at `position` in `fd`, however
 * many calls that takes. By fs.write's callback in one promise: a FileHandle's
 * write() leaves ~8 KB of promises and closures per call, which live as long
 * as the disk takes and so reach V8's old generation (issue 15).
 */
export function writeFully(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0
    const next = (err: Error | null, written: number): void => {
      if (err) return reject(err)
      done += written
      if (done < length) fsWrite(fd, data, offset + done, length - done, position + done, next)
      else resolve()
    }
    fsWrite(fd, data, offset, length, position, next)
  })
}
