// Peer ids in Azureus style (BEP 20): ours (-FT0100- followed by 12 random bytes), and the client a remote one names.
import { randomBytes } from 'node:crypto'

export const CLIENT_PREFIX = '-FT0100-'
export const CLIENT_VERSION = 'friendtorrent 0.1.0'

export function newPeerId(): Buffer {
  const id = Buffer.alloc(20)
  id.write(CLIENT_PREFIX, 0, 'latin1')
  // Printable random tail: some trackers and clients log peer ids as text.
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
  const rnd = randomBytes(12)
  for (let i = 0; i < 12; i++) id[8 + i] = alphabet.charCodeAt(rnd[i] % alphabet.length)
  return id
}

/** A short client name from an Azureus-style peer id (BEP 20), e.g. "-qB4500-" → "qBittorrent 4.5.0.0". */
export function describeClient(peerId: Buffer): string {
  const text = peerId.subarray(0, 8).toString('latin1')
  const m = /^-([A-Za-z~]{2})([0-9A-Za-z]{4})-$/.exec(text)
  if (!m) return ''
  const names: Record<string, string> = {
    qB: 'qBittorrent', TR: 'Transmission', AR: 'aria2', lt: 'rTorrent', LT: 'libtorrent', UT: 'µTorrent', DE: 'Deluge', WW: 'WebTorrent', FT: 'friendtorrent', AZ: 'Vuze', BT: 'BitTorrent', KT: 'KTorrent',
  }
  return `${names[m[1]] ?? m[1]} ${m[2].split('').join('.')}`
}
