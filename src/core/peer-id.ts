// Our peer id, in Azureus style (BEP 20): -FT0100- followed by 12 random bytes.
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
