// Human-readable bytes, rates, durations and progress for the CLI and the TUI.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** `bytes` in the largest unit that keeps the value under `below` (1024 for full units, 1000 to stay short). */
function scaleBytes(bytes: number, below: number): { value: number; unit: number } {
  let value = bytes
  let unit = 0
  while (value >= below && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return { value, unit }
}

function digits(value: number): string {
  return value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?'
  const { value, unit } = scaleBytes(bytes, 1024)
  return unit === 0 ? `${value} B` : `${digits(value)} ${UNITS[unit]}`
}

export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(Math.round(bytesPerSec))}/s`
}

/** 0 → "0s", 75 → "1m15s", 3 700 → "1h01m", undefined → "--". */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--'
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`
}

export function formatPercent(fraction: number): string {
  const p = Math.max(0, Math.min(1, fraction)) * 100
  // Never show 100.0% before the last piece is verified.
  return `${(fraction < 1 ? Math.min(p, 99.9) : 100).toFixed(1)}%`
}

/** Bytes in at most 6 characters for narrow columns: 512B, 12.3K, 850M, 1.21G. */
export function formatBytesShort(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?'
  const { value, unit } = scaleBytes(bytes, 1000)
  return unit === 0 ? `${Math.round(value)}B` : `${digits(value)}${UNITS[unit][0]}`
}
