// The error storage throws: one line naming the file and, for OS failures, the errno.

import { FriendError } from '../core/types.ts'

export class StorageError extends FriendError {
  /** The errno code (ENOSPC, EACCES, …) when the OS refused. */
  readonly code: string | undefined
  readonly path: string | undefined
  /** Data the torrent counts on is not on disk (a file shorter than its pieces need). */
  readonly missing: boolean

  constructor(message: string, options?: { cause?: unknown; code?: string; path?: string; missing?: boolean }) {
    super(message, options)
    this.name = 'StorageError'
    this.code = options?.code
    this.path = options?.path
    this.missing = options?.missing === true
  }
}

/** Wraps an fs error as "cannot <verb> <path>: ENOSPC (no space left on device)". */
export function osError(err: unknown, verb: string, path: string): StorageError {
  if (err instanceof StorageError) return err
  const code = typeof (err as NodeJS.ErrnoException)?.code === 'string' ? (err as NodeJS.ErrnoException).code : undefined
  const message = err instanceof Error ? err.message : String(err)
  // Node's fs messages read "ENOSPC: no space left on device, write"; keep only the description.
  const description = code ? (/^[A-Z0-9_]+: ([^,]+)/.exec(message)?.[1] ?? message) : message
  return new StorageError(`cannot ${verb} ${path}: ${code ? `${code} (${description})` : description}`, { cause: err, code, path })
}
