// Compares two folder trees file by file, byte for byte (SHA-1 of streams),
// and fails listing every missing, extra or different file.
// Never modifies either tree; zero-length files count and must exist.
import { AssertionError } from 'node:assert'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'

/** Every regular file under `root`, as '/'-separated paths relative to it, sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) await walk(full)
      else if (entry.isFile()) out.push(relative(root, full).split(sep).join('/'))
    }
  }
  await walk(root)
  return out.sort()
}

export function sha1File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha1')
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

export async function assertSameTree(expectedDir: string, actualDir: string): Promise<void> {
  let actualFiles: string[]
  try {
    actualFiles = await listFiles(actualDir)
  } catch (err) {
    throw new AssertionError({ message: `cannot read ${actualDir}: ${(err as Error).message}` })
  }
  const expectedFiles = await listFiles(expectedDir)
  const actualSet = new Set(actualFiles)
  const expectedSet = new Set(expectedFiles)
  const problems: string[] = []
  for (const file of expectedFiles) if (!actualSet.has(file)) problems.push(`missing: ${file}`)
  for (const file of actualFiles) if (!expectedSet.has(file)) problems.push(`extra: ${file}`)
  for (const file of expectedFiles) {
    if (!actualSet.has(file)) continue
    const [expectedStat, actualStat] = await Promise.all([stat(join(expectedDir, file)), stat(join(actualDir, file))])
    if (expectedStat.size !== actualStat.size) {
      problems.push(`size differs: ${file} (expected ${expectedStat.size} bytes, got ${actualStat.size})`)
      continue
    }
    const [expectedHash, actualHash] = await Promise.all([sha1File(join(expectedDir, file)), sha1File(join(actualDir, file))])
    if (expectedHash !== actualHash) problems.push(`content differs: ${file} (sha1 ${expectedHash} expected, got ${actualHash})`)
  }
  if (problems.length > 0) {
    throw new AssertionError({
      message: `${actualDir} differs from ${expectedDir} in ${problems.length} way(s):\n  ${problems.join('\n  ')}`,
    })
  }
}

/**
 * assertSameTree, except that zero-length files may be absent: Transmission 3.00
 * (daemon and cli alike) never creates them, which is its behaviour, not ours.
 * Every non-empty file must be there byte for byte, and nothing extra.
 */
export async function assertSameTreeBarEmptyFiles(expectedDir: string, actualDir: string): Promise<void> {
  const expectedFiles = await listFiles(expectedDir)
  const actualFiles = new Set(await listFiles(actualDir))
  const problems: string[] = []
  for (const file of actualFiles) if (!expectedFiles.includes(file)) problems.push(`extra: ${file}`)
  for (const file of expectedFiles) {
    const expectedSize = (await stat(join(expectedDir, file))).size
    if (!actualFiles.has(file)) {
      if (expectedSize > 0) problems.push(`missing: ${file}`)
      continue
    }
    const actualSize = (await stat(join(actualDir, file))).size
    if (actualSize !== expectedSize) problems.push(`size differs: ${file} (expected ${expectedSize} bytes, got ${actualSize})`)
    else if ((await sha1File(join(expectedDir, file))) !== (await sha1File(join(actualDir, file)))) problems.push(`content differs: ${file}`)
  }
  if (problems.length > 0) throw new AssertionError({ message: `${actualDir} differs from ${expectedDir}:\n  ${problems.join('\n  ')}` })
}
