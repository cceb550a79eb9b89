import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { test } from 'node:test'
import { requireBinaries } from './real-clients.ts'
import { startOpentracker, startTracker } from './tracker.ts'

const INFO_HASH = 'ab'.repeat(20)

function announceUrl(base: string, infoHash: string, port: number): string {
  const pct = (hex: string): string => hex.replace(/../g, (b) => `%${b}`)
  return `${base}?info_hash=${pct(infoHash)}&peer_id=${pct('2d4654303030302d' + '11'.repeat(12))}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1&event=started`
}

test('startTracker serves HTTP and UDP on one 127.0.0.1 port and counts seeders', async () => {
  const tracker = await startTracker()
  try {
    assert.equal(tracker.httpUrl, `http://127.0.0.1:${tracker.port}/announce`)
    assert.equal(tracker.udpUrl, `udp://127.0.0.1:${tracker.port}`)
    const res = await fetch(announceUrl(tracker.httpUrl, INFO_HASH, 6881))
    assert.match(Buffer.from(await res.arrayBuffer()).toString('latin1'), /8:intervali\d+e/)
    await tracker.waitForSeeders(INFO_HASH, 1, 2000)
    assert.equal(tracker.peerCount(INFO_HASH), 1)

    // BEP 15 connect request: the answer echoes the transaction id.
    const udp = createSocket('udp4')
    const request = Buffer.alloc(16)
    request.writeBigUInt64BE(0x41727101980n, 0)
    request.writeUInt32BE(0, 8)
    request.writeUInt32BE(0xbeef, 12)
    udp.send(request, tracker.port, '127.0.0.1')
    const [answer] = (await once(udp, 'message')) as [Buffer]
    udp.close()
    assert.equal(answer.readUInt32BE(0), 0)
    assert.equal(answer.readUInt32BE(4), 0xbeef)
  } finally {
    await tracker.close()
  }
})

test('startOpentracker accepts only whitelisted hashes and reloads the list', async (t) => {
  if (!requireBinaries(t, ['opentracker'])) return
  const tracker = await startOpentracker([INFO_HASH])
  try {
    const allowed = await fetch(announceUrl(tracker.httpUrl, INFO_HASH, 6881))
    assert.doesNotMatch(Buffer.from(await allowed.arrayBuffer()).toString('latin1'), /failure reason/)
    assert.equal(await tracker.scrapeSeeders(INFO_HASH), 1)
    const other = 'cd'.repeat(20)
    const refused = await fetch(announceUrl(tracker.httpUrl, other, 6881))
    assert.match(Buffer.from(await refused.arrayBuffer()).toString('latin1'), /not authorized/)
    await tracker.setWhitelist([INFO_HASH, other])
    const now = await fetch(announceUrl(tracker.httpUrl, other, 6881))
    assert.doesNotMatch(Buffer.from(await now.arrayBuffer()).toString('latin1'), /failure reason/)
  } finally {
    await tracker.close()
  }
})
