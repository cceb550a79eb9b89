// Magnet links (BEP 9 "magnet URI format", BEP 53 x.pe) and bare info hashes → MagnetLink.
// Everything in a magnet is untrusted: the info hash is checked for length and alphabet,
// trackers are kept only if they are http(s)/udp URLs, bad peer addresses are skipped.
// Never fetches anything. BEP 52: xt=urn:btmh:1220<64 hex digits> (a SHA-256
// multihash) names a v2 torrent, alone or beside urn:btih (a hybrid); a bare
// 64-hex-digit hash is a v2 one. A v2-only link's infoHash is the SHA-256's
// first 20 bytes (what the wire, trackers and DHT use); infoHashV2 is whole,
// and the metadata fetched for it must hash to it.
// Refused with one line: no xt=urn:btih or btmh, a hash that is not 40 hex digits or 32
// base32 characters, a btmh that is not a 32-byte SHA-256 multihash, two
// different hashes of one kind in one link (which torrent is meant?). The dn name is for
// display only (the files' names come from the metadata); its control
// characters are dropped so it cannot steer a terminal.

import { encode as encodeMagnet } from 'magnet-uri'
import { addressKey, parseAddress, type PeerAddress } from '../core/types.ts'
import { canonicalHost } from '../core/address.ts'
import { MetainfoError } from './metainfo-error.ts'

export interface MagnetLink {
  infoHash: Buffer
  infoHashHex: string
  /** BEP 52: the whole SHA-256 info hash, from xt=urn:btmh or a bare 64-hex-digit hash. */
  infoHashV2?: Buffer
  name?: string
  /** Each tr= is its own tier (BEP 12 order has no meaning in a magnet); http(s) and udp only, each once. */
  tiers: string[][]
  /** x.pe peer addresses, each once. */
  peers: PeerAddress[]
}

const HEX_HASH = /^[0-9a-fA-F]{40}$/
const BASE32_HASH = /^[A-Za-z2-7]{32}$/
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const TRACKER_PROTOCOLS = new Set(['http:', 'https:', 'udp:'])
const MAGNET_PREFIX = 'magnet:?'
const CONTROL_CHARACTERS = /[\x00-\x1f\x7f-\x9f]/g
/** Text meant as a bare hash, so a bad digit gets the hash error rather than "not a magnet". */
const HASH_SHAPED = /^(?:[A-Za-z0-9]{32}|[A-Za-z0-9]{40})$/

/**
 * For text that named no file: when it looks meant as an info hash but is not
 * one (hex of the wrong length, a stray letter in 40 or 64 digits, base32 of
 * the wrong length), a clause saying so (", and not an info hash: …"); else ''.
 */
export function notAnInfoHashNote(text: string): string {
  const t = text.trim()
  const shapes = 'an info hash is 40 hex digits (v1), 32 base32 characters, or 64 hex digits (v2)'
  let what: string | undefined
  if (/^[0-9a-f]{8,}$/i.test(t)) what = `${t.length} hex digits`
  else if ((t.length === 40 || t.length === 64) && /^[0-9a-z]+$/i.test(t)) what = `${quote(t.match(/[^0-9a-f]/i)![0])} is not a hex digit`
  else if (/^[a-z2-7]{24,40}$/i.test(t) && /[2-7]/.test(t)) what = `${t.length} base32 characters`
  return what ? `, and not an info hash: ${what}; ${shapes}` : ''
}

/** A magnet URI, or a bare info hash (40 hex digits or 32 base32 characters). */
export function parseMagnetOrInfoHash(text: string): MagnetLink {
  const trimmed = text.trim()
  if (trimmed.slice(0, MAGNET_PREFIX.length).toLowerCase() === MAGNET_PREFIX) {
    return parseMagnet(trimmed.slice(MAGNET_PREFIX.length))
  }
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) {
    const infoHashV2 = Buffer.from(trimmed, 'hex')
    const infoHash = infoHashV2.subarray(0, 20)
    return { infoHash, infoHashHex: infoHash.toString('hex'), infoHashV2, tiers: [], peers: [] }
  }
  if (HASH_SHAPED.test(trimmed)) {
    const infoHash = hashFromText(trimmed)
    return { infoHash, infoHashHex: infoHash.toString('hex'), tiers: [], peers: [] }
  }
  throw new MetainfoError(`${quote(trimmed)} is neither a magnet link (magnet:?xt=urn:btih:...) nor a 40-hex-digit info hash`)
}

/**
 * A magnet URI: xt (urn:btih for v1, urn:btmh for v2, both for a hybrid), then
 * dn, then one tr per tracker. Without `v1` the link is v2-only.
 */
export function magnetUri(link: { infoHashHex: string; infoHashV2?: Buffer; v1?: boolean; name?: string; tiers?: string[][] }): string {
  if (!HEX_HASH.test(link.infoHashHex)) {
    throw new MetainfoError(`info hash ${quote(link.infoHashHex)} must be 40 hex digits`)
  }
  const trackers = [...new Set((link.tiers ?? []).flat())]
  const xt: string[] = []
  if (link.v1 ?? true) xt.push(`urn:btih:${link.infoHashHex.toLowerCase()}`)
  if (link.infoHashV2) xt.push(`urn:btmh:1220${link.infoHashV2.toString('hex')}`)
  return encodeMagnet({
    xt: xt.length === 1 ? xt[0] : xt,
    ...(link.name ? { dn: link.name } : {}),
    ...(trackers.length > 0 ? { tr: trackers } : {}),
  })
}

function parseMagnet(query: string): MagnetLink {
  const hashes: string[] = []
  const v2Hashes: string[] = []
  let name: string | undefined
  const trackers: string[] = []
  const peerTexts: string[] = []
  // Parsed by hand: magnet-uri's decoder drops any parameter whose value contains "=",
  // which tracker URLs with a passkey query routinely do.
  for (const param of query.split('&')) {
    const eq = param.indexOf('=')
    if (eq <= 0) continue
    const key = param.slice(0, eq)
    const raw = param.slice(eq + 1)
    if (key === 'xt' || /^xt\.\d+$/.test(key)) {
      const xt = decodeComponent(raw) ?? raw
      if (/^urn:btih:/i.test(xt)) hashes.push(xt.slice('urn:btih:'.length))
      else if (/^urn:btmh:/i.test(xt)) v2Hashes.push(xt.slice('urn:btmh:'.length))
    } else if (key === 'dn') {
      name ??= (decodeComponent(raw.replace(/\+/g, ' ')) ?? raw).replace(CONTROL_CHARACTERS, '')
    } else if (key === 'tr') {
      const url = decodeComponent(raw)
      if (url !== undefined) trackers.push(url)
    } else if (key === 'x.pe') {
      const peer = decodeComponent(raw)
      if (peer !== undefined) peerTexts.push(peer)
    }
  }
  if (hashes.length === 0 && v2Hashes.length === 0) {
    throw new MetainfoError('magnet link has no info hash: it needs an xt=urn:btih:<40 hex digits> or xt=urn:btmh:1220<64 hex digits> parameter')
  }
  const infoHashV2 = v2Hashes.length > 0 ? v2HashFromText(v2Hashes[0]) : undefined
  for (const other of v2Hashes.slice(1)) {
    if (!v2HashFromText(other).equals(infoHashV2!)) {
      throw new MetainfoError(`magnet link names two different v2 torrents (${infoHashV2!.toString('hex')} and ${v2HashFromText(other).toString('hex')}); add them one at a time`)
    }
  }
  const infoHash = hashes.length > 0 ? hashFromText(hashes[0]) : infoHashV2!.subarray(0, 20)
  for (const other of hashes.slice(1)) {
    if (!hashFromText(other).equals(infoHash)) {
      throw new MetainfoError(`magnet link names two different torrents (${infoHash.toString('hex')} and ${hashFromText(other).toString('hex')}); add them one at a time`)
    }
  }
  const link: MagnetLink = {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    ...(infoHashV2 ? { infoHashV2 } : {}),
    tiers: trackerTiers(trackers),
    peers: peerAddresses(peerTexts),
  }
  if (name) link.name = name
  return link
}

function hashFromText(text: string): Buffer {
  if (HEX_HASH.test(text)) return Buffer.from(text, 'hex')
  if (BASE32_HASH.test(text)) return base32Decode(text.toUpperCase())
  throw new MetainfoError(`info hash ${quote(text)} must be 40 hex digits or 32 base32 characters (A-Z, 2-7)`)
}

/** BEP 52: a multihash, 0x12 (SHA-256) 0x20 (32 bytes) then the hash, in hex. */
function v2HashFromText(text: string): Buffer {
  if (!/^1220[0-9a-fA-F]{64}$/.test(text)) {
    throw new MetainfoError(`v2 info hash ${quote(text)} must be "1220" and 64 hex digits (a SHA-256 multihash)`)
  }
  return Buffer.from(text.slice(4), 'hex')
}

/** RFC 4648 base32 without padding; 32 characters are exactly 160 bits. */
function base32Decode(text: string): Buffer {
  const out = Buffer.alloc((text.length * 5) >> 3)
  let bits = 0
  let value = 0
  let at = 0
  for (const ch of text) {
    value = (value << 5) | BASE32_ALPHABET.indexOf(ch)
    bits += 5
    if (bits >= 8) {
      bits -= 8
      out[at++] = (value >>> bits) & 0xff
    }
  }
  return out
}

function trackerTiers(urls: string[]): string[][] {
  const seen = new Set<string>()
  const tiers: string[][] = []
  for (const text of urls) {
    const url = text.trim()
    if (seen.has(url)) continue
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      continue
    }
    // "udp:./x" parses as a URL but names no host.
    if (!TRACKER_PROTOCOLS.has(parsed.protocol) || parsed.hostname === '') continue
    seen.add(url)
    tiers.push([url])
  }
  return tiers
}

function peerAddresses(texts: string[]): PeerAddress[] {
  const seen = new Set<string>()
  const peers: PeerAddress[] = []
  for (const text of texts) {
    let peer: PeerAddress
    try {
      peer = parseAddress(text.trim())
    } catch {
      continue
    }
    peer = { host: canonicalHost(peer.host), port: peer.port }
    const key = addressKey(peer)
    if (seen.has(key)) continue
    seen.add(key)
    peers.push(peer)
  }
  return peers
}

function decodeComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

/** Quoted and cut short, so a pasted page of text still makes a one-line message. */
function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)
}
