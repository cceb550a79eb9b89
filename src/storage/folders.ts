// Folders, files and symlinks under a save folder: creates folders one level
// at a time refusing any that is a symlink, creates a torrent file (extended
// sparse to its length, never through a symlink), and creates BEP 47 symlinks
// only where they and their targets stay inside. Never follows a link out of
// the folder.

import { constants as fsConstants } from 'node:fs'
import { lstat, mkdir, open, readlink, realpath, symlink, unlink, type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import type { FileEntry } from '../metainfo/metainfo.ts'
import { resolveInside, safePathComponents } from '../metainfo/safe-path.ts'
import { StorageError, osError } from './storage-error.ts'

export async function createFolders(root: string, parts: string[], readyFolders: Set<string>): Promise<void> {
  for (let n = 1; n < parts.length; n++) {
    const folder = resolveInside(root, parts.slice(0, n))
    if (readyFolders.has(folder)) continue
    await ensureFolder(folder, root)
    readyFolders.add(folder)
  }
}

/**
 * A BEP 47 symlink as a relative link, when it and its target stay inside the
 * save folder even through links already on disk; otherwise nothing is created
 * (a link of ours found pointing outside is removed) and a warning is kept.
 * A link metainfo marked invalid (pointing to itself) is never created.
 */
export async function createSymlink(root: string, file: FileEntry, readyFolders: Set<string>, warnings: string[]): Promise<void> {
  const target = file.symlink!
  const shown = file.path.join('/')
  if (target.join('/') === shown) {
    warnings.push(`symlink ${shown} not created: its target is not in the torrent`)
    return
  }
  let linkPath: string
  let targetPath: string
  try {
    linkPath = resolveInside(root, safePathComponents(file.path))
    targetPath = resolveInside(root, safePathComponents(target))
  } catch (err) {
    warnings.push(`symlink ${shown} not created: ${(err as Error).message}`)
    return
  }
  const text = path.relative(path.dirname(linkPath), targetPath)
  await createFolders(root, file.path, readyFolders)
  const existing = await lstat(linkPath).catch(() => undefined)
  if (existing && !existing.isSymbolicLink()) {
    warnings.push(`symlink ${shown} not created: something else is already at ${linkPath}`)
    return
  }
  if (existing && (await readlink(linkPath)) !== text) {
    warnings.push(`symlink ${shown} not created: another link is already at ${linkPath}`)
    return
  }
  if (!existing) {
    try {
      await symlink(text, linkPath)
    } catch (err) {
      warnings.push(`symlink ${shown} not created: ${osError(err, 'create symlink', linkPath).message}`)
      return
    }
  }
  // Through links on disk (the torrent's or anyone's) the target could still land outside.
  const real = await realpath(linkPath).catch(() => undefined)
  const realRoot = await realpath(root)
  if (real !== undefined && real !== realRoot && !real.startsWith(realRoot + path.sep)) {
    await unlink(linkPath).catch(() => {})
    warnings.push(`symlink ${shown} not created: it resolves to ${real}, outside ${root}`)
  }
}

async function ensureFolder(folder: string, root: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const st = await lstat(folder)
      if (st.isSymbolicLink()) throw symlinkRefused(folder, root)
      if (!st.isDirectory()) throw new StorageError(`cannot use ${folder}: it exists and is not a folder`, { path: folder })
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw osError(err, 'use folder', folder)
    }
    try {
      await mkdir(folder)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw osError(err, 'create folder', folder)
    }
  }
}

export function symlinkRefused(target: string, root: string): StorageError {
  return new StorageError(`refusing to use ${target}: it is a symbolic link, and files must stay inside ${root}`, { path: target, code: 'ELOOP' })
}

// O_NOFOLLOW makes open fail (ELOOP) if the final component is a symlink; absent on Windows.
const OPEN_OR_CREATE = fsConstants.O_RDWR | fsConstants.O_CREAT | (fsConstants.O_NOFOLLOW ?? 0)

/** Whether anything is at `target` (a symlink counts); a missing folder on the way means no. */
export async function exists(target: string): Promise<boolean> {
  try {
    await lstat(target)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return false
    throw osError(err, 'look for', target)
  }
}

/** Creates or opens the file, extends it sparse to `length` if shorter, and returns its size before that. */
export async function ensureFile(filePath: string, length: number, root: string, executable: boolean): Promise<number> {
  let h: FileHandle
  try {
    h = await open(filePath, OPEN_OR_CREATE, 0o666)
  } catch (err) {
    throw openError(err, filePath, root)
  }
  try {
    const st = await h.stat()
    if (!st.isFile()) throw new StorageError(`cannot use ${filePath}: it exists and is not a regular file`, { path: filePath })
    if (st.size < length) await h.truncate(length)
    // BEP 47 "x": execute permission wherever read permission is (0644 → 0755).
    if (executable && (st.mode & 0o111) === 0) await h.chmod((st.mode & 0o7777) | ((st.mode & 0o444) >> 2))
    return st.size
  } catch (err) {
    throw osError(err, 'extend', filePath)
  } finally {
    await h.close()
  }
}

/** An open's failure said plainly: a symlink in the way (ELOOP, from O_NOFOLLOW) is refused as one. */
export function openError(err: unknown, filePath: string, root: string): StorageError {
  if ((err as NodeJS.ErrnoException).code === 'ELOOP') return symlinkRefused(filePath, root)
  return osError(err, 'open', filePath)
}
