// Assembles the WebAssembly RC4 loop of src/transport/rc4.ts (its text is
// there, as a comment) and prints the module's bytes as hex, for RC4_WASM_HEX.
// No toolchain needed: the few opcodes used are encoded here by hand.
// Run: node scripts/assemble-rc4-wasm.mjs

const uleb = (n) => {
  const out = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}
const sleb = (n) => {
  const out = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b]
    out.push(b | 0x80)
  }
}

const LOCALS = { len: 0, i: 1, j: 2, k: 3, si: 4, sj: 5, end: 6, w: 7, end4: 8 }
const code = []
const get = (name) => code.push(0x20, ...uleb(LOCALS[name]))
const set = (name) => code.push(0x21, ...uleb(LOCALS[name]))
const konst = (v) => code.push(0x41, ...sleb(v))
const [ADD, AND, OR, XOR, SHL, GE_U] = [0x6a, 0x71, 0x72, 0x73, 0x74, 0x4f]
const load8 = () => code.push(0x2d, 0, 0)
const store8 = () => code.push(0x3a, 0, 0)
const loopWhileBelow = (limit, body) => {
  code.push(0x02, 0x40, 0x03, 0x40) // block, loop
  get('k'), get(limit), code.push(GE_U, 0x0d, 1) // br_if 1 when k >= limit
  body()
  code.push(0x0c, 0, 0x0b, 0x0b) // br 0, end, end
}
/** One key-stream byte: swaps S[i] and S[j] and leaves S[(S[i] + S[j]) & 255] on the stack. */
const keyByte = () => {
  get('i'), konst(1), code.push(ADD), konst(255), code.push(AND), set('i')
  get('i'), load8(), set('si')
  get('j'), get('si'), code.push(ADD), konst(255), code.push(AND), set('j')
  get('j'), load8(), set('sj')
  get('i'), get('sj'), store8()
  get('j'), get('si'), store8()
  get('si'), get('sj'), code.push(ADD), konst(255), code.push(AND), load8()
}

konst(256), load8(), set('i'), konst(257), load8(), set('j')
konst(1024), set('k'), konst(1024), get('len'), code.push(ADD), set('end')
konst(1024), get('len'), konst(-4), code.push(AND, ADD), set('end4')
// Four bytes a turn: four key-stream bytes make one word, XORed into the data as one load and one store.
loopWhileBelow('end4', () => {
  keyByte()
  for (let b = 1; b < 4; b++) keyByte(), konst(8 * b), code.push(SHL, OR)
  set('w')
  get('k'), get('k'), code.push(0x28, 2, 0), get('w'), code.push(XOR, 0x36, 2, 0) // i32.load, i32.store
  get('k'), konst(4), code.push(ADD), set('k')
})
// The last 0–3 bytes one at a time.
loopWhileBelow('end', () => {
  get('k'), get('k'), load8(), keyByte(), code.push(XOR), store8()
  get('k'), konst(1), code.push(ADD), set('k')
})
konst(256), get('i'), store8(), konst(257), get('j'), store8()
code.push(0x0b)

const body = [1, ...uleb(Object.keys(LOCALS).length - 1), 0x7f, ...code] // locals: 8 × i32
const section = (id, payload) => [id, ...uleb(payload.length), ...payload]
const name = (s) => [...uleb(s.length), ...Buffer.from(s)]
const module = [
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [1, 0x60, 1, 0x7f, 0]), // type: (i32) -> ()
  ...section(3, [1, 0]), // one function of that type
  ...section(5, [1, 0, 1]), // one memory of one page
  ...section(7, [2, ...name('memory'), 2, 0, ...name('rc4'), 0, 0]),
  ...section(10, [1, ...uleb(body.length), ...body]),
]
process.stdout.write(Buffer.from(module).toString('hex') + '\n')
