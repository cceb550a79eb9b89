// EncryptedSocket.write's `done`: once it runs the caller may reuse its buffer. Blocks are
// encrypted into pooled buffers that are reused only when the inner socket is done with them,
// so what arrives decrypts to what was written, encrypted or in plaintext.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { EncryptedSocket } from '../../../src/transport/encrypted-socket.ts'
import { Rc4 } from '../../../src/transport/rc4.ts'

const BLOCK = 16 * 1024
const sha = (b: Buffer) => createHash('sha1').update(b).digest('hex')

async function tcpPair(): Promise<{ a: Socket; b: Socket; close(): Promise<void> }> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const a = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port })
  const [b] = (await once(server, 'connection')) as [Socket]
  return {
    a,
    b,
    async close() {
      a.destroy()
      b.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

for (const mode of ['rc4', 'plaintext'] as const) {
  test(`${mode}: a block's buffer reused as soon as its write is done changes nothing the peer receives`, async () => {
    const p = await tcpPair()
    try {
      const key = randomBytes(20)
      const sender = new EncryptedSocket(p.a, { ciphers: mode === 'rc4' ? { encrypt: new Rc4(key), decrypt: undefined } : undefined, readInner: true })
      const decrypt = mode === 'rc4' ? new Rc4(key) : undefined
      const blocks = Array.from({ length: 256 }, () => randomBytes(BLOCK))
      const total = blocks.length * BLOCK
      const chunks: Buffer[] = []
      let got = 0
      const arrived = new Promise<void>((resolve) => {
        p.b.on('data', (c: Buffer) => {
          chunks.push(Buffer.from(c))
          got += c.length
          if (got >= total + blocks.length) resolve()
        })
      })
      p.b.pause() // the socket backs up, so writes are done late, not in the tick they are made
      let done = 0
      for (const block of blocks) {
        const mine = Buffer.from(block)
        sender.write(mine, (err) => {
          assert.ifError(err)
          done++
          mine.fill(0) // reused, as the uploader's pool does
        })
        sender.write(Buffer.from('x')) // a message of other size between blocks (a piece header)
      }
      p.b.resume()
      await arrived
      const wire = Buffer.concat(chunks)
      if (decrypt) decrypt.updateInPlace(wire)
      const expected = Buffer.concat(blocks.flatMap((b) => [b, Buffer.from('x')]))
      assert.equal(wire.length, expected.length)
      assert.equal(sha(wire), sha(expected))
      assert.equal(done, blocks.length, 'every done callback ran')
    } finally {
      await p.close()
    }
  })
}
