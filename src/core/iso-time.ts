// Timestamps as ISO 8601 UTC text ("2026-12-01T20:52:52.379Z"), the form of
// Date#toISOString. Node 20's V8 computes the local time zone's offset for
// toISOString too, and that first look-up reads ICU's time-zone data into the
// process: ~1 MB of resident memory in every command that printed or
// summarised a time (issue 15). The UTC fields need no time zone. Pure.

/** `new Date(ms).toISOString()`; a RangeError for a time a Date cannot hold, as that throws. */
export function isoTime(ms: number): string {
  const d = new Date(ms)
  const year = d.getUTCFullYear()
  // Not a time (NaN) or outside years 0..9999 (written with a sign and six digits): Date's own.
  if (!(year >= 0 && year <= 9999)) return d.toISOString()
  return `${pad(year, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}Z`
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}
