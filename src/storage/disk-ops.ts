// Small disk helpers for FileStorage: a bounded fan-out over file spans, one
// syncfs for a flush of many files, and a whole read or write by fs.read's and
// fs.write's callbacks.
// No knowledge of torrents.
import { read as fsRead, write as fsWrite } from 'node:fs'

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

/**
 * Reads `length` bytes at `position` of `fd` into `buf` from `offset`, however
 * many calls that takes; resolves with the bytes read, fewer only where the
 * file ends. By fs.read's callback, as writeFully: a seed reads hundreds of
 * pieces a second, and a FileHandle's read() leaves its promises behind.
 */
export function readFully(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0
    const next = (err: Error | null, read: number): void => {
      if (err) return reject(err)
      done += read
      if (read > 0 && done < length) fsRead(fd, buf, offset + done, length - done, position + done, next)
      else resolve(done)
    }
    fsRead(fd, buf, offset, length, position, next)
  })
}
