// The matmul micro-kernel in WebAssembly SIMD (f32x4), written with the binary writer of wasm.ts.
//
// panel(pa, pb, kc, panels, out, ldo): for one packed A panel (4 rows × kc, as [kc][4]) and
// `panels` packed B panels (kc × 8 each, as [kc][8]), writes the 4 × 8·panels product to `out`
// (row r at out + r·ldo bytes). Each B panel keeps a 4×8 tile in eight f32x4 accumulators;
// per k it loads two B vectors and splats four A values: 8 multiply-adds for 6 loads.
// Sums are float32 (lanes), over at most kc terms.

import { I32, op, V128, type WasmFunction, wasmModule } from './wasm.ts';

// Parameters and locals, by index.
const PA = 0;
const PB = 1;
const KC = 2;
const PANELS = 3;
const OUT = 4;
const LDO = 5;
const K = 6;
const PAP = 7;
const PBP = 8;
const O = 9;
const A = 10;
const B0 = 11;
const B1 = 12;
const ACC = 13; // 13 … 20: row r, half h at ACC + 2r + h

function panelFunction(): WasmFunction {
  const body = [];
  body.push(op.get(PB), op.set(PBP), op.get(OUT), op.set(O));
  body.push(op.loop); // over B panels (panels ≥ 1)
  for (let i = 0; i < 8; i++) body.push(op.v128Zero, op.set(ACC + i));
  body.push(op.get(PA), op.set(PAP), op.get(KC), op.set(K));
  body.push(op.loop); // over k (kc ≥ 1)
  body.push(op.get(PBP), op.v128Load(0), op.set(B0), op.get(PBP), op.v128Load(16), op.set(B1));
  for (let r = 0; r < 4; r++) {
    body.push(op.get(PAP), op.load32Splat(4 * r), op.set(A));
    for (let h = 0; h < 2; h++) {
      const acc = ACC + 2 * r + h;
      body.push(op.get(acc), op.get(A), op.get(h === 0 ? B0 : B1), op.f32x4Mul, op.f32x4Add, op.set(acc));
    }
  }
  body.push(op.get(PAP), op.i32(16), op.add, op.set(PAP));
  body.push(op.get(PBP), op.i32(32), op.add, op.set(PBP));
  body.push(op.get(K), op.i32(1), op.sub, op.tee(K), op.brIf(0), op.end);
  for (let r = 0; r < 4; r++) {
    for (let h = 0; h < 2; h++) {
      body.push(op.get(O));
      if (r > 0) body.push(op.get(LDO), op.i32(r), op.mul, op.add);
      body.push(op.get(ACC + 2 * r + h), op.v128Store(16 * h));
    }
  }
  body.push(op.get(O), op.i32(32), op.add, op.set(O));
  body.push(op.get(PANELS), op.i32(1), op.sub, op.tee(PANELS), op.brIf(0), op.end);
  return {
    name: 'panel',
    params: [I32, I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32, I32, I32, V128, V128, V128, ...new Array<number>(8).fill(V128)],
    body,
  };
}

export interface SimdGemm {
  memory: WebAssembly.Memory;
  panel: (pa: number, pb: number, kc: number, panels: number, out: number, ldo: number) => void;
}

/** Instantiates the kernel over a fresh memory of `pages` pages; null where wasm SIMD is missing. */
export function createSimdGemm(pages: number): SimdGemm | null {
  if (typeof WebAssembly === 'undefined') return null;
  const bytes = wasmModule([panelFunction()], pages);
  if (!WebAssembly.validate(bytes)) return null;
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { memory, panel: instance.exports.panel as SimdGemm['panel'] };
}
