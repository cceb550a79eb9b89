// Small async helpers every loopback test needs: a free port, waiting for an
// event or a condition with a deadline, and a temp folder that cleans up.
// Never binds anything but 127.0.0.1 and never leaves a timer or socket behind.
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { createSocket } from 'node:dgram'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const LOOPBACK = '127.0.0.1'

/**
 * A port free for both TCP and UDP on 127.0.0.1 at the time of the call.
 * Trackers and clients here use one port for both (HTTP+UDP tracker, DHT beside TCP).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = createServer()
    tcp.listen(0, LOOPBACK)
    await once(tcp, 'listening')
    const address = tcp.address()
    const port = typeof address === 'object' && address ? address.port : 0
    const udp = createSocket('udp4')
    const udpOk = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false))
      udp.bind(port, LOOPBACK, () => resolve(true))
    })
    if (udpOk) await new Promise<void>((resolve) => udp.close(() => resolve()))
    else udp.close()
    await new Promise<void>((resolve) => tcp.close(() => resolve()))
    if (udpOk && port > 0) return port
  }
  throw new Error('freePort: no port free for both TCP and UDP on 127.0.0.1 after 20 tries')
}

/** Anything with once/off, typed or not (node:events EventEmitter, TypedEmitter). */
interface Listenable {
  once(event: string, listener: (...args: any[]) => void): unknown
  off(event: string, listener: (...args: any[]) => void): unknown
}

/**
 * Resolves with the first argument of the next `event`; rejects after `ms`, or
 * if the emitter emits 'error' first (so a failure is not mistaken for a hang).
 */
export function waitFor<T = unknown>(emitter: Listenable, event: string, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onEvent = (value: T): void => {
      cleanup()
      resolve(value)
    }
    const onError = (err: unknown): void => {
      cleanup()
      reject(err instanceof Error ? err : new Error(String(err)))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`timed out after ${ms} ms waiting for event "${event}"`))
    }, ms)
    const cleanup = (): void => {
      clearTimeout(timer)
      emitter.off(event, onEvent)
      if (event !== 'error') emitter.off('error', onError)
    }
    emitter.once(event, onEvent)
    if (event !== 'error') emitter.once('error', onError)
  })
}

const POLL_INTERVAL_MS = 100

/**
 * Polls `predicate` until it returns true. Rejects naming `what` after `ms`,
 * with the predicate's last thrown error (if any) so the cause is visible.
 */
export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  pollIntervalMs = POLL_INTERVAL_MS,
): Promise<void> {
  const deadline = Date.now() + ms
  let lastError: unknown
  for (;;) {
    try {
      if (await predicate()) return
      lastError = undefined
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`
      throw new Error(`timed out after ${ms} ms waiting for ${what}${cause}`)
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, Math.max(1, deadline - Date.now()))))
  }
}

export interface TempDir {
  path: string
  cleanup(): Promise<void>
}

/** A fresh folder under the OS temp dir; `cleanup` removes it and everything in it. */
export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), `ft-${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}-`))
  return {
    path,
    cleanup: () => rm(path, { recursive: true, force: true, maxRetries: 3 }),
  }
}
