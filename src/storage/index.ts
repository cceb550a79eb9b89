// The storage module's public surface: bytes on disk and SHA-1 verification.

export type { Storage } from './storage.ts'
export { FileStorage } from './file-storage.ts'
export { checkPieces, CHECK_CHUNK_BYTES } from './check.ts'
export { StorageError } from './storage-error.ts'
