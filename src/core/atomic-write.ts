// Atomic file replacement: write a temp file beside the target, fsync it,
// rename it over the target, fsync the folder. A crash at any moment leaves
// either the old file or the new one, never a torn one.
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

let sequence = 0

/** Private state is 0600 (the default); files meant to be shared, such as a made .torrent, pass 0o644. */
export async function writeFileAtomic(file: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  await mkdir(dirname(file), { recursive: true })
  // pid, time and a counter: two writes of one file in the same millisecond never share a temp file.
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}${String(++sequence).padStart(4, '0')}.tmp`)
  const handle = await open(temp, 'w', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => {})
    await rm(temp, { force: true })
    throw err
  }
  await handle.close()
  await rename(temp, file)
  const dir = await open(dirname(file), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
