// The receiving end of the uTP section's byte stream, in a process of its own
// (two clients on one machine are two processes, each with its own core):
// listens on 127.0.0.1 over uTP or TCP, prints {"port"} as one JSON line,
// takes one connection, reads `bytes` bytes, then prints its own CPU time and
// peak RSS as one JSON line and exits.
import { readFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { UtpManager } from '../src/transport/utp/utp-manager.ts'

const [transport, bytesArg] = process.argv.slice(2)
const bytes = Number(bytesArg)
if ((transport !== 'utp' && transport !== 'tcp') || !(bytes > 0)) {
  console.error('usage: stream-receiver.ts utp|tcp BYTES')
  process.exit(2)
}

/** The kernel's peak resident set (VmHWM): exact, and free, unlike sampling (process.memoryUsage() every 50 ms cost ~7 % of this process's CPU). */
function peakRssBytes(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'))
  return m ? Number(m[1]) * 1024 : process.memoryUsage.rss()
}

function count(stream: Duplex, done: () => Promise<void>): void {
  const cpu0 = process.cpuUsage()
  let got = 0
  stream.on('data', (c: Buffer) => {
    got += c.length
    if (got < bytes) return
    const cpu = process.cpuUsage(cpu0)
    const extra = 'packetBytes' in stream ? { packetBytes: (stream as unknown as { packetBytes: { floorBytes: number } }).packetBytes.floorBytes } : {}
    console.log(JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssBytes: peakRssBytes(), ...extra }))
    stream.destroy()
    void done().then(() => process.exit(0))
  })
}

if (transport === 'utp') {
  const manager = await UtpManager.open(0, '127.0.0.1')
  manager.once('connection', (s) => count(s, () => manager.close()))
  console.log(JSON.stringify({ port: manager.port }))
} else {
  const server = createServer()
  server.once('connection', (s: Socket) => count(s, () => new Promise((r) => server.close(() => r()))))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }))
}
