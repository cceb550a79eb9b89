// Where friendtorrent keeps its config and state, and what the config file
// may say. Honours XDG_CONFIG_HOME / XDG_DATA_HOME / HOME; never reads a TTY.
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { FriendError } from '../core/types.ts'
import { ENCRYPTION_MODES, EncryptionPolicy } from '../transport/encryption-policy.ts'
import type { EncryptionMode } from '../transport/encryption-policy.ts'

interface NumberOption {
  kind: 'number'
  default: number
  min: number
  max: number
  integer: boolean
  doc: string
}
interface StringOption {
  kind: 'string'
  default: string
  /** An empty string is allowed (and means "the built-in default"). */
  optional?: boolean
  doc: string
}
interface BooleanOption {
  kind: 'boolean'
  default: boolean
  doc: string
}
interface AddressListOption {
  kind: 'addresses'
  default: readonly string[]
  doc: string
}
interface ChoiceOption<T extends string = string> {
  kind: 'choice'
  default: T
  choices: readonly T[]
  doc: string
}
interface BlocklistOption {
  kind: 'blocklist'
  default: { readonly words: readonly string[]; readonly infoHashes: readonly string[] }
  doc: string
}
type OptionSpec = NumberOption | StringOption | BooleanOption | AddressListOption | ChoiceOption | BlocklistOption

/** Every config option, its bounds and what it does (the README table is made from the same words). */
export const CONFIG_OPTIONS = {
  downloadDir: { kind: 'string', default: 'downloads', doc: 'save folder, relative to the current directory unless absolute' },
  stateDir: { kind: 'string', default: '', optional: true, doc: 'state folder (library, .torrent files, resume data, DHT table, control socket); empty = $XDG_DATA_HOME/friendtorrent' },
  listenPort: { kind: 'number', default: 6881, min: 0, max: 65535, integer: true, doc: 'TCP port for incoming peers (the next free of the ten after it if busy; 0 = any)' },
  maxActiveDownloads: { kind: 'number', default: 3, min: 1, max: 1000, integer: true, doc: 'torrents downloading at once in a session; the rest wait queued' },
  maxActiveSeeds: { kind: 'number', default: 20, min: 1, max: 10000, integer: true, doc: 'torrents seeding at once in a session' },
  uploadLimitKiBps: { kind: 'number', default: 0, min: 0, max: 10_000_000, integer: true, doc: 'upload limit for the whole session in KiB/s (0 = none); `friendtorrent limit` changes it at run time' },
  downloadLimitKiBps: { kind: 'number', default: 0, min: 0, max: 10_000_000, integer: true, doc: 'download limit for the whole session in KiB/s (0 = none); `friendtorrent limit` changes it at run time' },
  seedRatioLimit: { kind: 'number', default: 0, min: 0, max: 10_000, integer: false, doc: 'stop seeding a torrent (paused) once uploaded/size reaches this ratio (0 = seed for ever)' },
  seedTimeLimitMinutes: { kind: 'number', default: 0, min: 0, max: 5_256_000, integer: true, doc: 'stop seeding a torrent (paused) after it has seeded this long in a session (0 = for ever)' },
  resumeSaveIntervalSeconds: { kind: 'number', default: 30, min: 1, max: 3600, integer: true, doc: 'how often a session saves resume data of running torrents (also saved when a torrent stops); after a crash, pieces verified since are found by re-hashing only the files that changed' },
  maxConnections: { kind: 'number', default: 200, min: 1, max: 5000, integer: true, doc: 'peer connections in all (every torrent and magnet fetch, incoming and outgoing, half-open included)' },
  maxConnectionsPerTorrent: { kind: 'number', default: 50, min: 1, max: 1000, integer: true, doc: 'peer connections per torrent' },
  maxConnectionsPerIp: { kind: 'number', default: 3, min: 1, max: 1000, integer: true, doc: 'peer connections with one IP address per torrent, so one host cannot take every slot (a few, for friends behind one NAT)' },
  maxPendingRequestsPerPeer: { kind: 'number', default: 256, min: 16, max: 2000, integer: true, doc: 'block requests a peer may have queued with us (told to it as BEP 10 reqq); more are ignored, and a peer sending over twice as many in a row is disconnected' },
  maxBufferedBytesPerPeer: { kind: 'number', default: 524288, min: 65536, max: 67108864, integer: true, doc: 'bytes waiting to be sent to one peer past which we send it no more blocks or metadata until its socket drains' },
  maxHalfOpenConnections: { kind: 'number', default: 16, min: 1, max: 500, integer: true, doc: 'connection attempts in flight at once' },
  requestTimeoutSeconds: { kind: 'number', default: 20, min: 1, max: 600, integer: false, doc: 'a peer that sends no block for this long is snubbed and its requests go elsewhere' },
  connectTimeoutSeconds: { kind: 'number', default: 10, min: 1, max: 120, integer: false, doc: 'give up connecting to a peer after this long' },
  maxStrikes: { kind: 'number', default: 3, min: 1, max: 100, integer: true, doc: 'pieces failing the hash check that a peer took part in before its address is banned' },
  progressIntervalSeconds: { kind: 'number', default: 5, min: 1, max: 3600, integer: false, doc: 'how often `add` prints a progress line when not on a terminal' },
  encryption: {
    kind: 'choice',
    default: 'prefer',
    choices: ENCRYPTION_MODES,
    doc: 'MSE/PE: `prefer` dials encrypted and falls back to plaintext for a peer that refuses it (remembered), `require` never speaks plaintext (plaintext-only peers are refused, one log line each), `off` never encrypts; incoming connections are accepted both ways unless `require` or `off` forbids one',
  } satisfies ChoiceOption<EncryptionMode>,
  utp: { kind: 'boolean', default: true, doc: 'peer connections over uTP (BEP 29) on the listen port (UDP, shared with the DHT): accepted, and tried first when connecting' },
  tcp: { kind: 'boolean', default: true, doc: 'peer connections over TCP: accepted, and the fallback when uTP does not answer' },
  portForwarding: { kind: 'boolean', default: true, doc: 'ask the router to forward the listen port (TCP and UDP) by UPnP IGD and NAT-PMP at once, renew it, and delete it at a clean stop; trackers are told the external port' },
  lsd: { kind: 'boolean', default: true, doc: 'Local Service Discovery (BEP 14): announce public torrents on the local network (multicast 239.192.152.143:6771 and [ff15::efc0:988f]:6771) every 5 minutes, and take peers announced there; never for private torrents' },
  dht: { kind: 'boolean', default: true, doc: 'find peers through the DHT (BEP 5) on the listen port (UDP); never for private torrents' },
  dhtBootstrap: {
    kind: 'addresses',
    default: ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881', 'dht.libtorrent.org:25401'],
    doc: 'HOST:PORT nodes to join the DHT through when no saved routing table helps',
  },
  webSeeds: { kind: 'boolean', default: true, doc: "download from the web seeds a torrent lists (BEP 19 `url-list`: HTTP(S) servers holding its files), beside peers or with none" },
  indexDatabase: { kind: 'string', default: '', optional: true, doc: 'where the index (`crawl`, `search`) lives: empty = SQLite in `index.sqlite` in the state folder (needs the optional better-sqlite3); `postgres://user:password@host/db` = a PostgreSQL shared by several crawlers (`?schema=NAME` keeps its tables in that schema)' },
  mouse: { kind: 'boolean', default: true, doc: 'the dashboard takes mouse clicks and the wheel (xterm mouse reporting while it runs); the terminal then leaves plain drags to it, and Shift+drag still selects text in most terminals' },
  crawlResampleSeconds: { kind: 'number', default: 60, min: 1, max: 86_400, integer: true, doc: '`crawl` samples a DHT node (BEP 51) again no sooner than this, whatever shorter interval the node asks for' },
  indexWhileRunning: { kind: 'boolean', default: false, doc: 'a session (`seed`, the dashboard) also crawls the DHT into the index, at a low rate (two metadata fetches at a time), over its own DHT node; needs `dht`' },
  indexBlocklist: {
    kind: 'blocklist',
    default: { words: [], infoHashes: [] },
    doc: '`{"words": [...], "infoHashes": [...]}`: torrents whose name or a file path holds one of the words (whole words, any case; a phrase matches in order) or whose info hash is listed are never stored in the index',
  },
} as const satisfies Record<string, OptionSpec>

type Options = typeof CONFIG_OPTIONS
type ValueOf<O> = O extends { kind: 'number' }
  ? number
  : O extends { kind: 'boolean' }
    ? boolean
    : O extends { kind: 'addresses' }
      ? string[]
      : O extends { kind: 'blocklist' }
        ? { words: string[]; infoHashes: string[] }
      : O extends { kind: 'choice'; choices: readonly (infer C)[] }
        ? C
        : string
export type Config = { -readonly [K in keyof Options]: ValueOf<Options[K]> }

export function defaultConfig(): Config {
  const out: Record<string, unknown> = {}
  for (const [key, opt] of Object.entries(CONFIG_OPTIONS)) out[key] = typeof opt.default === 'object' ? structuredClone(opt.default) : opt.default
  return out as Config
}

/** Validates a parsed config object; throws one line naming the first bad key. */
export function validateConfig(raw: unknown, where: string): Config {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FriendError(`config ${where}: must be a JSON object`)
  const config = defaultConfig() as Record<string, unknown>
  for (const [key, value] of Object.entries(raw)) {
    const opt = (CONFIG_OPTIONS as Record<string, OptionSpec>)[key]
    if (!Object.hasOwn(CONFIG_OPTIONS, key) || !opt) {
      throw new FriendError(`config ${where}: unknown option "${key}" (known: ${Object.keys(CONFIG_OPTIONS).join(', ')})`)
    }
    if (opt.kind === 'string') {
      if (typeof value !== 'string' || (value.length === 0 && !opt.optional)) throw new FriendError(`config ${where}: ${key} must be a non-empty string`)
    } else if (opt.kind === 'boolean') {
      if (typeof value !== 'boolean') throw new FriendError(`config ${where}: ${key} must be true or false, got ${JSON.stringify(value)}`)
    } else if (opt.kind === 'choice') {
      if (typeof value !== 'string' || !opt.choices.includes(value)) throw new FriendError(`config ${where}: ${key} must be one of ${opt.choices.map((c) => `"${c}"`).join(', ')}, got ${JSON.stringify(value)}`)
    } else if (opt.kind === 'blocklist') {
      config[key] = validateBlocklist(value, `config ${where}: ${key}`)
      continue
    } else if (opt.kind === 'addresses') {
      const bad = Array.isArray(value) ? value.find((v) => typeof v !== 'string' || !/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(v)) : value
      if (!Array.isArray(value) || bad !== undefined) throw new FriendError(`config ${where}: ${key} must be a list of "HOST:PORT" strings, got ${JSON.stringify(bad)}`)
    } else {
      const ok = typeof value === 'number' && Number.isFinite(value) && (!opt.integer || Number.isInteger(value)) && value >= opt.min && value <= opt.max
      if (!ok) throw new FriendError(`config ${where}: ${key} must be ${opt.integer ? 'a whole number' : 'a number'} from ${opt.min} to ${opt.max}, got ${JSON.stringify(value)}`)
    }
    config[key] = value
  }
  return config as Config
}

function validateBlocklist(value: unknown, where: string): { words: string[]; infoHashes: string[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FriendError(`${where} must be an object {"words": [...], "infoHashes": [...]}`)
  const extra = Object.keys(value).find((k) => k !== 'words' && k !== 'infoHashes')
  if (extra !== undefined) throw new FriendError(`${where}: unknown key "${extra}" (known: words, infoHashes)`)
  const { words = [], infoHashes = [] } = value as { words?: unknown; infoHashes?: unknown }
  const badWord = Array.isArray(words) ? words.find((w) => typeof w !== 'string' || !/[\p{L}\p{N}]/u.test(w)) : words
  if (!Array.isArray(words) || badWord !== undefined) throw new FriendError(`${where}.words must be a list of words (each with a letter or digit), got ${JSON.stringify(badWord)}`)
  const badHash = Array.isArray(infoHashes) ? infoHashes.find((h) => typeof h !== 'string' || !/^[0-9a-fA-F]{40}$/.test(h)) : infoHashes
  if (!Array.isArray(infoHashes) || badHash !== undefined) throw new FriendError(`${where}.infoHashes must be a list of 40-hex-digit info hashes, got ${JSON.stringify(badHash)}`)
  return { words: [...(words as string[])], infoHashes: (infoHashes as string[]).map((h) => h.toLowerCase()) }
}

export interface Paths {
  configDir: string
  configFile: string
  dataDir: string
}

export function paths(env: NodeJS.ProcessEnv = process.env): Paths {
  const home = env.HOME || homedir()
  const configHome = env.XDG_CONFIG_HOME || join(home, '.config')
  const dataHome = env.XDG_DATA_HOME || join(home, '.local', 'share')
  const configDir = join(configHome, 'friendtorrent')
  return { configDir, configFile: join(configDir, 'config.json'), dataDir: join(dataHome, 'friendtorrent') }
}

/** Reads the config file (absent is fine: defaults) and validates it. */
export async function loadConfig(file: string): Promise<Config> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaultConfig()
    throw new FriendError(`cannot read config ${file}: ${(err as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new FriendError(`config ${file} is not valid JSON: ${(err as Error).message}`)
  }
  return validateConfig(raw, file)
}

/** The state folder: `stateDir` from the config (relative to the current directory), else under XDG_DATA_HOME. */
export function resolveStateDir(config: Config, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return config.stateDir ? resolve(cwd, config.stateDir) : paths(env).dataDir
}

export function resolveDownloadDir(config: Config, override: string | undefined, cwd = process.cwd()): string {
  return resolve(cwd, override ?? config.downloadDir)
}

/**
 * What every torrent's peers get from the config, for the foreground `add` and
 * a session alike. Call it once per session: its encryption policy remembers
 * peers and is shared by the listener and every dialer.
 */
export function peerOptions(config: Config): {
  maxConnectionsPerIp: number
  maxPendingRequestsPerPeer: number
  maxBufferedBytesPerPeer: number
  connectTimeoutMs: number
  requestTimeoutMs: number
  maxStrikes: number
  encryption: EncryptionPolicy
} {
  return {
    encryption: new EncryptionPolicy(config.encryption),
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxPendingRequestsPerPeer: config.maxPendingRequestsPerPeer,
    maxBufferedBytesPerPeer: config.maxBufferedBytesPerPeer,
    connectTimeoutMs: config.connectTimeoutSeconds * 1000,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    maxStrikes: config.maxStrikes,
  }
}
