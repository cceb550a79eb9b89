// A time as ISO 8601 in UTC ("2026-12-01T20:54:29.073Z"), exactly what
// `Date#toISOString` returns, built from the UTC fields of the date.
// Why not `toISOString` itself: in Node 20's V8 it also looks up the local
// time zone's display name, and that first lookup pages in ~1 MB of ICU's
// time-zone name tables (RSS of the whole process, for every command that
// logs or lists a time; issue 15, README "Memory"). The UTC getters never
// touch ICU. Years outside 0000–9999 (and invalid dates) are left to
// `toISOString`, so every input gives the same string, or the same RangeError.

export function isoTime(ms: number = Date.now()): string {
  const d = new Date(ms)
  const year = d.getUTCFullYear()
  if (!(year >= 0 && year <= 9999)) return d.toISOString()
  return (
    `${pad(year, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}Z`
  )
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}
