// Peer wire messages (BEP 3, BEP 5 port, BEP 6 fast, BEP 10 extended, BEP 52 hashes) as a
// discriminated union, and their encoder. Pure: never touches a socket.
// Frames are <len:u32be><id:u8><payload>; a zero length is a keep-alive.

export enum MessageId {
  Choke = 0,
  Unchoke = 1,
  Interested = 2,
  NotInterested = 3,
  Have = 4,
  Bitfield = 5,
  Request = 6,
  Piece = 7,
  Cancel = 8,
  Port = 9,
  Suggest = 0x0d,
  HaveAll = 0x0e,
  HaveNone = 0x0f,
  Reject = 0x10,
  AllowedFast = 0x11,
  Extended = 20,
  HashRequest = 21,
  Hashes = 22,
  HashReject = 23,
}

/** BEP 52: which hashes of which file's merkle tree (layers counted from the 16 KiB blocks, 0). */
export interface HashRange {
  piecesRoot: Buffer
  baseLayer: number
  index: number
  length: number
  proofLayers: number
}

/** Bytes of a hash request's payload: <pieces root:32><base layer><index><length><proof layers>. */
export const HASH_RANGE_LENGTH = 48

export type Message =
  | { type: 'keepAlive' }
  | { type: 'choke' }
  | { type: 'unchoke' }
  | { type: 'interested' }
  | { type: 'notInterested' }
  | { type: 'have'; index: number }
  | { type: 'bitfield'; bitfield: Buffer }
  | { type: 'request'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; block: Buffer }
  | { type: 'cancel'; index: number; begin: number; length: number }
  | { type: 'port'; port: number }
  | { type: 'suggest'; index: number }
  | { type: 'haveAll' }
  | { type: 'haveNone' }
  | { type: 'reject'; index: number; begin: number; length: number }
  | { type: 'allowedFast'; index: number }
  | { type: 'extended'; extId: number; payload: Buffer }
  | ({ type: 'hashRequest' } & HashRange)
  /** `hashes`: the requested hashes then the uncle hashes, 32 bytes each. */
  | ({ type: 'hashes'; hashes: Buffer } & HashRange)
  | ({ type: 'hashReject' } & HashRange)
  | { type: 'unknown'; id: number; payload: Buffer }

/** Bytes of a piece frame before the block: <len><id=7><index><begin>. */
export const PIECE_HEADER_LENGTH = 13

const KEEP_ALIVE = Buffer.alloc(4)

function idOnly(id: MessageId): Buffer {
  const frame = Buffer.allocUnsafe(5)
  frame.writeUInt32BE(1, 0)
  frame[4] = id
  return frame
}

function withIndex(id: MessageId, index: number): Buffer {
  const frame = Buffer.allocUnsafe(9)
  frame.writeUInt32BE(5, 0)
  frame[4] = id
  frame.writeUInt32BE(index, 5)
  return frame
}

function withBlockRef(id: MessageId, index: number, begin: number, length: number): Buffer {
  const frame = Buffer.allocUnsafe(17)
  frame.writeUInt32BE(13, 0)
  frame[4] = id
  frame.writeUInt32BE(index, 5)
  frame.writeUInt32BE(begin, 9)
  frame.writeUInt32BE(length, 13)
  return frame
}

function withPayload(id: number, payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + payload.length)
  frame.writeUInt32BE(1 + payload.length, 0)
  frame[4] = id
  frame.set(payload, 5)
  return frame
}

function withHashRange(id: MessageId, range: HashRange, hashes?: Uint8Array): Buffer {
  const extra = hashes?.length ?? 0
  const frame = Buffer.allocUnsafe(5 + HASH_RANGE_LENGTH + extra)
  frame.writeUInt32BE(1 + HASH_RANGE_LENGTH + extra, 0)
  frame[4] = id
  if (range.piecesRoot.length !== 32) throw new RangeError(`pieces root must be 32 bytes, got ${range.piecesRoot.length}`)
  range.piecesRoot.copy(frame, 5)
  frame.writeUInt32BE(range.baseLayer, 37)
  frame.writeUInt32BE(range.index, 41)
  frame.writeUInt32BE(range.length, 45)
  frame.writeUInt32BE(range.proofLayers, 49)
  if (hashes) frame.set(hashes, 53)
  return frame
}

/**
 * The 13-byte head of a piece frame, so the block itself can follow in a
 * writev without being copied into the frame.
 */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Buffer {
  const head = Buffer.allocUnsafe(PIECE_HEADER_LENGTH)
  head.writeUInt32BE(9 + blockLength, 0)
  head[4] = MessageId.Piece
  head.writeUInt32BE(index, 5)
  head.writeUInt32BE(begin, 9)
  return head
}

/** The whole frame of `msg`, length prefix included. */
export function encode(msg: Message): Buffer {
  switch (msg.type) {
    /** <len=0000> */
    case 'keepAlive': return Buffer.from(KEEP_ALIVE)
    /** <len=0001><id=0> */
    case 'choke': return idOnly(MessageId.Choke)
    /** <len=0001><id=1> */
    case 'unchoke': return idOnly(MessageId.Unchoke)
    /** <len=0001><id=2> */
    case 'interested': return idOnly(MessageId.Interested)
    /** <len=0001><id=3> */
    case 'notInterested': return idOnly(MessageId.NotInterested)
    /** <len=0005><id=4><index> */
    case 'have': return withIndex(MessageId.Have, msg.index)
    /** <len=0001+X><id=5><bitfield> */
    case 'bitfield': return withPayload(MessageId.Bitfield, msg.bitfield)
    /** <len=0013><id=6><index><begin><length> */
    case 'request': return withBlockRef(MessageId.Request, msg.index, msg.begin, msg.length)
    /** <len=0009+X><id=7><index><begin><block> */
    case 'piece': {
      const frame = Buffer.allocUnsafe(PIECE_HEADER_LENGTH + msg.block.length)
      frame.writeUInt32BE(9 + msg.block.length, 0)
      frame[4] = MessageId.Piece
      frame.writeUInt32BE(msg.index, 5)
      frame.writeUInt32BE(msg.begin, 9)
      frame.set(msg.block, PIECE_HEADER_LENGTH)
      return frame
    }
    /** <len=0013><id=8><index><begin><length> */
    case 'cancel': return withBlockRef(MessageId.Cancel, msg.index, msg.begin, msg.length)
    /** <len=0003><id=9><listen-port:u16> (BEP 5) */
    case 'port': {
      const frame = Buffer.allocUnsafe(7)
      frame.writeUInt32BE(3, 0)
      frame[4] = MessageId.Port
      frame.writeUInt16BE(msg.port, 5)
      return frame
    }
    /** <len=0005><id=0x0d><index> (BEP 6) */
    case 'suggest': return withIndex(MessageId.Suggest, msg.index)
    /** <len=0001><id=0x0e> (BEP 6) */
    case 'haveAll': return idOnly(MessageId.HaveAll)
    /** <len=0001><id=0x0f> (BEP 6) */
    case 'haveNone': return idOnly(MessageId.HaveNone)
    /** <len=0013><id=0x10><index><begin><length> (BEP 6) */
    case 'reject': return withBlockRef(MessageId.Reject, msg.index, msg.begin, msg.length)
    /** <len=0005><id=0x11><index> (BEP 6) */
    case 'allowedFast': return withIndex(MessageId.AllowedFast, msg.index)
    /** <len=0002+X><id=20><ext-id><payload> (BEP 10) */
    case 'extended': {
      const frame = Buffer.allocUnsafe(6 + msg.payload.length)
      frame.writeUInt32BE(2 + msg.payload.length, 0)
      frame[4] = MessageId.Extended
      frame.writeUInt8(msg.extId, 5)
      frame.set(msg.payload, 6)
      return frame
    }
    /** <len=0031><id=21><pieces root:32><base layer><index><length><proof layers> (BEP 52) */
    case 'hashRequest': return withHashRange(MessageId.HashRequest, msg)
    /** <len=0031+32·n><id=22><pieces root:32><base layer><index><length><proof layers><hashes:32·n> (BEP 52) */
    case 'hashes': return withHashRange(MessageId.Hashes, msg, msg.hashes)
    /** <len=0031><id=23><pieces root:32><base layer><index><length><proof layers> (BEP 52) */
    case 'hashReject': return withHashRange(MessageId.HashReject, msg)
    /** <len=0001+X><id><payload>: passes through an id we do not speak */
    case 'unknown': {
      const frame = Buffer.allocUnsafe(5 + msg.payload.length)
      frame.writeUInt32BE(1 + msg.payload.length, 0)
      frame.writeUInt8(msg.id, 4)
      frame.set(msg.payload, 5)
      return frame
    }
  }
}
