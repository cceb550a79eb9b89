// A typed wrapper over Node's EventEmitter: event names and argument tuples
// are checked at compile time. Every module's events go through this.
import { EventEmitter } from 'node:events'

/** Event name → argument tuple. Interfaces qualify (no index signature needed). */
export type EventMap<T> = { [K in keyof T]: unknown[] }

export class TypedEmitter<T extends EventMap<T>> {
  readonly #emitter = new EventEmitter()

  constructor() {
    this.#emitter.setMaxListeners(0)
  }

  on<K extends keyof T & string>(event: K, listener: (...args: T[K]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void)
    return this
  }

  once<K extends keyof T & string>(event: K, listener: (...args: T[K]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void)
    return this
  }

  off<K extends keyof T & string>(event: K, listener: (...args: T[K]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void)
    return this
  }

  emit<K extends keyof T & string>(event: K, ...args: T[K]): boolean {
    return this.#emitter.emit(event, ...args)
  }

  listenerCount<K extends keyof T & string>(event: K): number {
    return this.#emitter.listenerCount(event)
  }

  removeAllListeners(): this {
    this.#emitter.removeAllListeners()
    return this
  }
}
