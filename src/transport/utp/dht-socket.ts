// The face of the shared UDP socket that bittorrent-dht sees. k-rpc-socket
// takes any object with dgram's send/bind/address/close and 'message' events
// (its `socket` option); this one hands it the datagrams UtpManager found not
// to be uTP, sends through the shared socket, and never closes it: the
// listener owns the port. The DHT is BEP 5's, IPv4 only: datagrams from IPv6
// hosts are not handed to it, and its address() is reported as IPv4 even when
// the shared socket is dual-stack.
import { EventEmitter } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { RemoteInfo } from 'node:dgram'
import type { UtpManager } from './utp-manager.ts'

export class DhtSocket extends EventEmitter {
  readonly #manager: UtpManager
  readonly #onDatagram = (msg: Buffer, rinfo: RemoteInfo) => {
    if (rinfo.family === 'IPv4') this.emit('message', msg, rinfo)
  }
  #open = true

  constructor(manager: UtpManager) {
    super()
    this.#manager = manager
    manager.on('datagram', this.#onDatagram)
  }

  send(buf: Buffer, offset: number, length: number, port: number, host: string, cb?: (err: Error | null) => void): void {
    if (!this.#open) {
      cb?.(new Error('the DHT socket is closed'))
      return
    }
    this.#manager.sendDatagram(buf, offset, length, port, host, (err) => cb?.(err))
  }

  /** Already bound by the listener: reports 'listening' as dgram would. */
  bind(...args: unknown[]): void {
    const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined
    setImmediate(() => {
      if (!this.#open) return
      this.emit('listening')
      cb?.()
    })
  }

  address(): AddressInfo {
    const { address, port } = this.#manager.address()
    return { address: address.includes(':') ? '0.0.0.0' : address, family: 'IPv4', port }
  }

  close(cb?: () => void): void {
    if (this.#open) {
      this.#open = false
      this.#manager.off('datagram', this.#onDatagram)
    }
    setImmediate(() => {
      this.emit('close')
      cb?.()
    })
  }

  // dgram methods k-rpc-socket or bittorrent-dht may call; the shared socket keeps its settings.
  ref(): this {
    return this
  }

  unref(): this {
    return this
  }
}
