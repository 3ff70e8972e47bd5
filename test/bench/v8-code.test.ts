import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codeOf, parseWasmCode, wasmExports } from '../../scripts/v8-code.mjs';
import { transfersControl } from '../../bench/pi-estimate/trace.js';

// Listings as V8 13 (Node 24) prints them with --print-wasm-code, trimmed: the code check of
// test:arm and bench:pi read these.
const ARM64 = `--- WebAssembly code ---
name: wasm-function[0]
index: 0
kind: wasm function
compiler: Liftoff
Instructions (size = 4)
0x3b28dc9700     0  d65f03c0       ret

--- End code ---
--- WebAssembly code ---
name: wasm-function[0]
index: 0
kind: wasm function
compiler: TurboFan
Body (size = 64 = 48 + 16 padding)
Instructions (size = 12)
0x3b28dc97e0     0  d2800110       movz x16, #0x8
0x3b28dc97e4     4  4e829420       sdot v0.4s, v1.16b, v2.16b
0x3b28dc97e8     8  d65f03c0       ret

Safepoints (stack slots = 4, entries = 0, byte size = 12)
--- End code ---
`;
const X64 = `--- WebAssembly code ---
name: wasm-function[3]
index: 3
kind: wasm function
compiler: TurboFan
Instructions (size = 5)
0xae454a14840     0  55                   push rbp
0xae454a14841     1  4889e5               REX.W movq rbp,rsp
0xae454a14844     4  c3                   retl

--- End code ---
`;

describe('scripts/v8-code.mjs', () => {
  it('reads each printed function, arm64 words in memory order', () => {
    const fns = parseWasmCode(ARM64, 'arm64');
    expect(fns.map((f) => [f.index, f.compiler, f.instructions.length])).toEqual([[0, 'Liftoff', 1], [0, 'TurboFan', 3]]);
    const sdot = fns[1].instructions[1];
    expect(sdot.text).toBe('sdot v0.4s, v1.16b, v2.16b');
    expect(sdot.addr).toBe(0x3b28dc97e4n);
    expect([...sdot.bytes]).toEqual([0x20, 0x94, 0x82, 0x4e]);
    // codeOf takes the last printed code: the optimized one.
    expect(codeOf(fns, new Map([['f', 0]]), 'f')?.compiler).toBe('TurboFan');
  });

  it('reads x64 instructions byte by byte', () => {
    const [f] = parseWasmCode(X64, 'x64');
    expect(f.instructions.map((i) => [...i.bytes])).toEqual([[0x55], [0x48, 0x89, 0xe5], [0xc3]]);
  });

  it('maps the kernels module exports to function indices', () => {
    const exports = wasmExports(readFileSync(new URL('../../dist/squeezewasm-relaxed.wasm', import.meta.url)));
    expect(exports.get('p7_igemm_6x8c4_relaxed')).toBeTypeOf('number');
    expect(exports.size).toBeGreaterThan(50);
  });
});

describe('bench/pi-estimate: translation block ends', () => {
  it('ends a block at every control transfer and nowhere else', () => {
    for (const t of ['b 0x10 (addr 0x1)', 'b.ne #-0x40', 'cbz w1, #+0x8', 'tbnz w0, #31, #+0x10', 'ret', 'blr x16']) expect(transfersControl(t, 'arm64')).toBe(true);
    for (const t of ['bic v0.16b, v1.16b, v2.16b', 'sdot v0.4s, v1.16b, v2.16b', 'bfi w0, w1, #0, #8']) expect(transfersControl(t, 'arm64')).toBe(false);
    for (const t of ['jnz 0x1234', 'jmp 0x10', 'call 0x20', 'retl']) expect(transfersControl(t, 'x64')).toBe(true);
    expect(transfersControl('vpdpbusd xmm0,xmm1,xmm2', 'x64')).toBe(false);
  });
});
