// Small disk helpers for FileStorage: a bounded fan-out over file spans, and
// one syncfs for a flush of many files. No knowledge of torrents.

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

