// Local Service Discovery messages (BEP 14): the BT-SEARCH announce, made and
// read. Pure: never a socket. Reading is for hostile input: a message over
// MAX_MESSAGE_BYTES, without the request line, or without a valid port is
// undefined; info hashes that are not 40 hex digits are skipped.
//
//   BT-SEARCH * HTTP/1.1\r\n
//   Host: <group>:6771\r\n
//   Port: <our listen port>\r\n
//   Infohash: <40 hex>\r\n        (one or more, consecutive)
//   cookie: <opaque, to know our own>\r\n
//   \r\n
//   \r\n

export const LSD_PORT = 6771
export const LSD_IPV4_GROUP = '239.192.152.143'
export const LSD_IPV6_GROUP = 'ff15::efc0:988f'
/** BEP 14: keep an announce under 1400 bytes (no fragmentation). */
export const MAX_MESSAGE_BYTES = 1400
const REQUEST_LINE = 'BT-SEARCH * HTTP/1.1'
const MAX_INFO_HASHES = 64

export interface LsdAnnounce {
  port: number
  /** Lowercase hex. */
  infoHashes: string[]
  cookie?: string
}

export function hostHeader(group: string): string {
  return group.includes(':') ? `[${group}]:${LSD_PORT}` : `${group}:${LSD_PORT}`
}

/** Announces for `infoHashes`, as many to a message as fit in 1400 bytes. */
export function encodeAnnounces(group: string, port: number, infoHashes: string[], cookie: string): Buffer[] {
  const head = `${REQUEST_LINE}\r\nHost: ${hostHeader(group)}\r\nPort: ${port}\r\n`
  const tail = `cookie: ${cookie}\r\n\r\n\r\n`
  const perHash = 'Infohash: \r\n'.length + 40
  const fit = Math.max(1, Math.floor((MAX_MESSAGE_BYTES - head.length - tail.length) / perHash))
  const out: Buffer[] = []
  for (let i = 0; i < infoHashes.length; i += fit) {
    const lines = infoHashes.slice(i, i + fit).map((h) => `Infohash: ${h}\r\n`)
    out.push(Buffer.from(head + lines.join('') + tail, 'latin1'))
  }
  return out
}

export function decodeAnnounce(msg: Buffer): LsdAnnounce | undefined {
  if (msg.length > MAX_MESSAGE_BYTES * 4) return undefined
  const lines = msg.toString('latin1').split(/\r?\n/)
  if (lines[0] !== REQUEST_LINE) return undefined
  let port: number | undefined
  let cookie: string | undefined
  const infoHashes: string[] = []
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === 'port') port = /^\d{1,5}$/.test(value) ? Number(value) : undefined
    else if (name === 'cookie') cookie = value.slice(0, 64)
    else if (name === 'infohash' && /^[0-9a-fA-F]{40}$/.test(value) && infoHashes.length < MAX_INFO_HASHES) {
      const h = value.toLowerCase()
      if (!infoHashes.includes(h)) infoHashes.push(h)
    }
  }
  if (port === undefined || port < 1 || port > 65535 || infoHashes.length === 0) return undefined
  return cookie === undefined ? { port, infoHashes } : { port, infoHashes, cookie }
}
