import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MetadataFetcher } from '../../../src/metadata/metadata-fetcher.ts'
import { receiveMetadataMessage, sendMetadataRequests, type MetadataChannel } from '../../../src/metadata/metadata-exchange.ts'
import { decodeMetadataMessage, encodeMetadataMessage } from '../../../src/wire/ut-metadata.ts'
import { bigInfo, served } from './metadata-fixtures.ts'

const { info, infoHash, pieceCount } = bigInfo()

class Channel implements MetadataChannel {
  sent: Buffer[] = []
  closed: string | undefined
  close(reason: string): void {
    this.closed = reason
  }
  sendExtended(name: string, payload: Buffer): boolean {
    assert.equal(name, 'ut_metadata')
    this.sent.push(payload)
    return true
  }
}

function dataMessage(source: Buffer, piece: number): Buffer {
  const { totalSize, data } = served(source, piece)
  return encodeMetadataMessage({ msgType: 'data', piece, totalSize, data })
}

test('a request is rejected and garbage closes the connection with a reason', () => {
  const fetcher = new MetadataFetcher(infoHash)
  const ch = new Channel()
  assert.deepEqual(receiveMetadataMessage(fetcher, ch, 'a', encodeMetadataMessage({ msgType: 'request', piece: 0 })), { kind: 'idle' })
  assert.equal(decodeMetadataMessage(ch.sent[0]!).msgType, 'reject')
  assert.deepEqual(receiveMetadataMessage(fetcher, ch, 'a', Buffer.from('not bencode')), { kind: 'idle' })
  assert.match(ch.closed!, /^bad ut_metadata message: /)
})

test('requests go out, data assembles the dict, and a wrong dict names its senders', () => {
  const fetcher = new MetadataFetcher(infoHash)
  assert.deepEqual(fetcher.addPeer({ id: 'a', metadataSize: info.length }), { ok: true })
  const ch = new Channel()
  let step
  for (let now = 0, rounds = 0; step?.kind !== 'done'; now += 1) {
    assert.ok(rounds++ < 200, 'the fetch makes progress')
    ch.sent = []
    sendMetadataRequests(fetcher, now, (k) => (k === 'a' ? ch : undefined))
    for (const payload of ch.sent) {
      const m = decodeMetadataMessage(payload)
      assert.equal(m.msgType, 'request')
      step = receiveMetadataMessage(fetcher, ch, 'a', dataMessage(info, m.piece))
      if (step.kind === 'done') break
      assert.equal(step.kind, 'more')
    }
  }
  assert.ok(step.kind === 'done' && step.infoDict.equals(info))
  assert.ok(pieceCount > 1)

  const liar = new MetadataFetcher(infoHash)
  liar.addPeer({ id: 'b', metadataSize: info.length })
  const forged = Buffer.from(info)
  forged[forged.length - 2] ^= 1
  let last
  for (let piece = 0; piece < pieceCount; piece++) {
    sendMetadataRequests(liar, 0, () => undefined)
    last = receiveMetadataMessage(liar, ch, 'b', dataMessage(forged, piece))
  }
  assert.equal(last!.kind, 'failed')
  assert.ok(last!.kind === 'failed' && last!.liars.includes('b'))
})
