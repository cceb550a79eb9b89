// The error for a torrent or path we refuse to use. Its own module so that
// safe-path and metainfo can both throw it without an import cycle.

import { FriendError } from '../core/types.ts'

export class MetainfoError extends FriendError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MetainfoError'
  }
}
