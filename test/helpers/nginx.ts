// A real nginx (Debian's nginx-light) for web seed tests: one process
// (`daemon off`, `master_process off`, so it runs as us and dies with its
// pid), a temp config listening on 127.0.0.1:<free port>, its pid file, logs
// and temp paths in the test's folder, serving `root`. Extra `location`
// blocks make it misbehave on purpose (a 503, a redirect, Range ignored).
// The access log records each request's time, status, path and Range. With
// `tls` it serves HTTPS with a self-signed certificate for 127.0.0.1 made by
// openssl, which a client trusts through NODE_EXTRA_CA_CERTS=<certFile>.
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { ManagedProcess } from './managed-process.ts'
import { freePort, waitUntil } from './net.ts'

export const NGINX = '/usr/sbin/nginx'

export function haveNginx(): boolean {
  return existsSync(NGINX)
}

export interface AccessLine {
  atMs: number
  status: number
  /** The request line's path, as sent (percent-encoded). */
  path: string
  range: string
}

export interface Nginx {
  port: number
  /** http://127.0.0.1:<port>, or https:// with `tls` */
  origin: string
  /** With `tls`: the certificate to trust. */
  certFile?: string
  /** The folder it serves at "/". */
  root: string
  accessLog(): Promise<AccessLine[]>
  stop(): Promise<void>
}

/** Starts nginx over `dir` (its files go in `dir/www`); `locations` is put inside the server block as is. */
export async function startNginx(dir: string, locations = '', opts: { tls?: boolean } = {}): Promise<Nginx> {
  const root = join(dir, 'www')
  const temp = join(dir, 'nginx-temp')
  await mkdir(root, { recursive: true })
  await mkdir(temp, { recursive: true })
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  const accessLogPath = join(dir, 'access.log')
  const errorLog = join(dir, 'error.log')
  const certFile = join(dir, 'cert.pem')
  const keyFile = join(dir, 'key.pem')
  if (opts.tls) {
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile])
  }
  const tls = opts.tls ? `ssl;\n    ssl_certificate ${certFile};\n    ssl_certificate_key ${keyFile}` : ''
  await writeFile(conf, `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections 256; }
http {
  log_format webseed '$msec $status "$request" "$http_range"';
  access_log ${accessLogPath} webseed;
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 10000;
  server {
    listen 127.0.0.1:${port} ${tls};
    root ${root};
    location / { }
${locations}
  }
}
`)
  const proc = new ManagedProcess('nginx', NGINX, ['-e', errorLog, '-p', dir, '-c', conf], { env: process.env, cwd: dir, logFiles: [errorLog] })
  try {
    await waitUntil(async () => {
      if (!proc.running) throw new Error(`nginx exited: ${proc.tail()}`)
      return canConnect(port)
    }, 10_000, `nginx listening on 127.0.0.1:${port}`, 20)
  } catch (err) {
    await proc.stop()
    throw err
  }
  return {
    port,
    origin: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    certFile: opts.tls ? certFile : undefined,
    root,
    async accessLog() {
      const text = await readFile(accessLogPath, 'utf8').catch(() => '')
      return text.split('\n').filter(Boolean).map((line) => {
        const m = /^(\d+\.\d+) (\d+) "\S+ (\S+) [^"]*" "([^"]*)"$/.exec(line)
        if (!m) throw new Error(`unexpected nginx access log line: ${line}`)
        return { atMs: Math.round(Number(m[1]) * 1000), status: Number(m[2]), path: m[3], range: m[4] }
      })
    },
    stop: () => proc.stop(),
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
