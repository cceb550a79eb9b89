// The DHT node's routing table between runs: a JSON file with our node id and
// the nodes we knew (IPv4 only, as bittorrent-dht speaks). Reading tolerates a
// missing, unreadable or corrupt file (a warning, then an empty table) and
// skips bad entries; writing is atomic and keeps the older file when the
// table is empty (after an offline run it is worth more).
import { readFile } from 'node:fs/promises'
import { isIPv4 } from 'node:net'
import type DHT from 'bittorrent-dht'
import type { DHTNodeInfo } from 'bittorrent-dht'
import { writeFileAtomic } from '../core/atomic-write.ts'
import { errorMessage, FriendError } from '../core/types.ts'

const NODE_ID_BYTES = 20
const HEX_ID = /^[0-9a-f]{40}$/i
const STATE_VERSION = 1

export interface SavedNode {
  id?: Buffer
  host: string
  port: number
}

export interface SavedState {
  nodeId?: Buffer
  nodes: SavedNode[]
}

/** The saved table, or undefined when there is none or it cannot be used (said through `warn`). */
export async function loadDhtState(file: string, warn: (message: string) => void): Promise<SavedState | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    warn(`DHT state ${file} could not be read (${errorMessage(err)}); starting with an empty routing table`)
    return undefined
  }
  try {
    const { state, skipped } = parseState(text)
    if (skipped > 0) {
      warn(`DHT state ${file}: ${skipped} unreadable node entries were skipped`)
    }
    return state
  } catch (err) {
    warn(`DHT state ${file} is corrupt (${errorMessage(err)}); starting with an empty routing table`)
    return undefined
  }
}

/** Writes `dht`'s node id and routing table to `file`; nothing when the table is empty. */
export async function saveDhtState(file: string, dht: DHT): Promise<void> {
  const nodes = dht.nodes.toArray()
  // After an offline run the table is empty; keeping the older file is worth more.
  if (nodes.length === 0) return
  const text = JSON.stringify({
    version: STATE_VERSION,
    nodeId: Buffer.from(dht.nodeId).toString('hex'),
    nodes: nodes.map((n: DHTNodeInfo) => ({ id: Buffer.from(n.id).toString('hex'), host: n.host, port: n.port })),
  })
  try {
    await writeFileAtomic(file, text)
  } catch (err) {
    throw new FriendError(`could not save the DHT routing table to ${file} (${errorMessage(err)}); check that folder's permissions and free space`)
  }
}

/** Throws when the text is not a state file at all; counts node entries that are unusable. */
function parseState(text: string): { state: SavedState; skipped: number } {
  const raw: unknown = JSON.parse(text)
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { nodes?: unknown }).nodes)) {
    throw new Error('expected an object with a "nodes" list')
  }
  const { nodeId, nodes } = raw as { nodeId?: unknown; nodes: unknown[] }
  const state: SavedState = { nodes: [] }
  if (typeof nodeId === 'string' && HEX_ID.test(nodeId)) state.nodeId = Buffer.from(nodeId, 'hex')
  let skipped = 0
  for (const entry of nodes) {
    const node = readNode(entry)
    if (node) state.nodes.push(node)
    else skipped++
  }
  return { state, skipped }
}

function readNode(entry: unknown): SavedNode | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined
  const { id, host, port } = entry as { id?: unknown; host?: unknown; port?: unknown }
  // bittorrent-dht speaks IPv4 only (compact node info is 26 bytes).
  if (typeof host !== 'string' || !isIPv4(host)) return undefined
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined
  if (id === undefined) return { host, port }
  if (typeof id !== 'string' || !HEX_ID.test(id)) return undefined
  const idBytes = Buffer.from(id, 'hex')
  return idBytes.length === NODE_ID_BYTES ? { id: idBytes, host, port } : undefined
}
