// The bytes written to a UtpSocket and the writers waiting on them: chunks
// queued until they are cut into packets, each write()'s callback held until
// the peer acknowledges the packets that carried its chunk (packets hold views
// of it that a resend reads), and the Writable's callback held while the queue
// is full (back-pressure). Pure: the socket says what went out and how far the
// cumulative ACK has come.
import { AckReleases } from './ack-releases.ts'
import { ChunkQueue, type ChunkRelease } from './chunk-queue.ts'

/** Bytes accepted from write() before its callback waits (the "kernel send buffer"). */
const SEND_QUEUE_BYTES = 256 * 1024

export class WriteQueue {
  readonly #queue = new ChunkQueue()
  /** write() callbacks of Buffers not yet in #queue: called once the chunk's packets are acknowledged, not when it is queued. */
  readonly #releases = new Map<Buffer, ChunkRelease>()
  /** Callbacks of chunks wholly in packets, called once those packets are acknowledged. */
  readonly #ackReleases = new AckReleases()
  #heldWrite: ((err?: Error | null) => void) | undefined

  /** Bytes waiting to be put in packets. */
  get bytes(): number {
    return this.#queue.bytes
  }

  /** True when `chunk`'s release is already held (the same Buffer written twice before it was queued). */
  holds(chunk: Buffer): boolean {
    return this.#releases.has(chunk)
  }

  /** Holds write()'s callback for `chunk` until its packets are acknowledged. */
  hold(chunk: Buffer, release: ChunkRelease): void {
    this.#releases.set(chunk, release)
  }

  /** A chunk from the Writable's _write/_writev, with its held release if any. */
  enqueue(chunk: Buffer): void {
    const release = this.#releases.get(chunk)
    if (release) this.#releases.delete(chunk)
    this.#queue.push(chunk, release)
  }

  /** The Writable's callback: called now while the queue has room, else held until resumeWriter finds room. */
  accept(cb: (err?: Error | null) => void): void {
    if (this.#queue.bytes < SEND_QUEUE_BYTES) cb()
    else this.#heldWrite = cb
  }

  /** Calls a held Writable callback once packets have made room in the queue. */
  resumeWriter(): void {
    if (this.#heldWrite && this.#queue.bytes < SEND_QUEUE_BYTES) {
      const cb = this.#heldWrite
      this.#heldWrite = undefined
      cb()
    }
  }

  /** Cuts the next `size` bytes into `parts` (as views) for packet `seqNr`; their chunks' releases wait for its ACK. */
  take(parts: Buffer[], size: number, seqNr: number): void {
    const released: ChunkRelease[] = []
    this.#queue.takeViews(parts, size, released)
    this.#ackReleases.add(seqNr, released)
  }

  /** Releases the chunks of packets before `sndUna`, the oldest packet not yet acknowledged. */
  ackedBefore(sndUna: number): void {
    this.#ackReleases.ackedBefore(sndUna)
  }

  /** The connection closed: queued chunks and those in unacknowledged packets are released with an error. */
  clearQueued(err: Error = new Error('uTP connection closed')): void {
    this.#queue.clear(err)
    this.#ackReleases.clear(err)
  }

  /** The stream is destroyed: also chunks still in the Writable's buffer and a held Writable callback get `err`. */
  clearAll(err: Error): void {
    this.clearQueued(err)
    for (const release of this.#releases.values()) release(err)
    this.#releases.clear()
    const held = this.#heldWrite
    this.#heldWrite = undefined
    held?.(err)
  }
}
