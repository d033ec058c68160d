// A minimal WebAssembly binary writer: enough of the format (types, an imported memory,
// functions, exports) and of the instruction set (i32 arithmetic, memory and branches, loops,
// f32x4 SIMD) to write the CPU kernels (src/gpu/cpu/gemm-simd.ts, src/rosa-worker/tuning-wasm.ts)
// as code, so the .wasm is built from their source at load time with no toolchain and no
// generated file to keep in sync. Imports nothing of the project (gpu and rosa-worker both use it).

export type Bytes = number[];

export function uleb(n: number): Bytes {
  const out: Bytes = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(n: number): Bytes {
  const out: Bytes = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): Bytes {
  const utf8 = [...new TextEncoder().encode(s)];
  return [...uleb(utf8.length), ...utf8];
}

function vec(items: Bytes[]): Bytes {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: Bytes): Bytes {
  return [id, ...uleb(body.length), ...body];
}

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** Instructions used by the kernels (each returns its encoding). */
export const op = {
  get: (i: number): Bytes => [0x20, ...uleb(i)],
  set: (i: number): Bytes => [0x21, ...uleb(i)],
  tee: (i: number): Bytes => [0x22, ...uleb(i)],
  i32: (v: number): Bytes => [0x41, ...sleb(v)],
  add: [0x6a] as Bytes,
  sub: [0x6b] as Bytes,
  mul: [0x6c] as Bytes,
  eqz: [0x45] as Bytes,
  ltU: [0x49] as Bytes,
  and: [0x71] as Bytes,
  or: [0x72] as Bytes,
  xor: [0x73] as Bytes,
  shl: [0x74] as Bytes,
  shrS: [0x75] as Bytes,
  shrU: [0x76] as Bytes,
  ctz: [0x68] as Bytes,
  eq: [0x46] as Bytes,
  ne: [0x47] as Bytes,
  ltS: [0x48] as Bytes,
  gtS: [0x4a] as Bytes,
  leS: [0x4c] as Bytes,
  geS: [0x4e] as Bytes,
  /** select(a, b, c): c ≠ 0 ? a : b. */
  select: [0x1b] as Bytes,
  return: [0x0f] as Bytes,
  // Scalar memory; memargs give the natural alignment (a hint only) and a byte offset.
  load: (offset: number): Bytes => [0x28, 2, ...uleb(offset)],
  load8U: (offset: number): Bytes => [0x2d, 0, ...uleb(offset)],
  store: (offset: number): Bytes => [0x36, 2, ...uleb(offset)],
  f32Load: (offset: number): Bytes => [0x2a, 2, ...uleb(offset)],
  f32Store: (offset: number): Bytes => [0x38, 2, ...uleb(offset)],
  f32Const: (v: number): Bytes => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)],
  f32Div: [0x95] as Bytes,
  if: [0x04, 0x40] as Bytes,
  else: [0x05] as Bytes,
  block: [0x02, 0x40] as Bytes,
  loop: [0x03, 0x40] as Bytes,
  end: [0x0b] as Bytes,
  br: (depth: number): Bytes => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  // SIMD (prefix 0xfd); memargs give alignment 2^2 (a hint only) and a byte offset.
  v128Load: (offset: number): Bytes => [0xfd, ...uleb(0x00), 2, ...uleb(offset)],
  v128Store: (offset: number): Bytes => [0xfd, ...uleb(0x0b), 2, ...uleb(offset)],
  load32Splat: (offset: number): Bytes => [0xfd, ...uleb(0x09), 2, ...uleb(offset)],
  v128Zero: [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)] as Bytes,
  v128And: [0xfd, ...uleb(0x4e)] as Bytes,
  /** bitselect(a, b, mask): a where mask bits are 1, else b. */
  v128Bitselect: [0xfd, ...uleb(0x52)] as Bytes,
  i32x4LtS: [0xfd, ...uleb(0x39)] as Bytes,
  /** i8x16.shuffle picking 32-bit lanes: 0 … 3 from the first operand, 4 … 7 from the second. */
  i32x4Shuffle: (lanes: [number, number, number, number]): Bytes => [
    0xfd,
    ...uleb(0x0d),
    ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
  ],
  f32x4Add: [0xfd, ...uleb(0xe4)] as Bytes,
  f32x4Sub: [0xfd, ...uleb(0xe5)] as Bytes,
  f32x4Mul: [0xfd, ...uleb(0xe6)] as Bytes,
  f32x4Min: [0xfd, ...uleb(0xe8)] as Bytes,
  f32x4Max: [0xfd, ...uleb(0xe9)] as Bytes,
  /** Pseudo-min/max: b < a ? b : a and a < b ? b : a, one instruction on x86 (min/max are several). */
  f32x4Pmin: [0xfd, ...uleb(0xea)] as Bytes,
  f32x4Pmax: [0xfd, ...uleb(0xeb)] as Bytes,
  f32x4Nearest: [0xfd, ...uleb(0x6a)] as Bytes,
  f32x4Splat: [0xfd, ...uleb(0x13)] as Bytes,
  f32x4ExtractLane: (lane: number): Bytes => [0xfd, ...uleb(0x1f), lane],
  i32x4TruncSatF32x4S: [0xfd, ...uleb(0xf8)] as Bytes,
  i32x4Add: [0xfd, ...uleb(0xae)] as Bytes,
  i32x4Sub: [0xfd, ...uleb(0xb1)] as Bytes,
  i32x4Shl: [0xfd, ...uleb(0xab)] as Bytes,
  i32x4Splat: [0xfd, ...uleb(0x11)] as Bytes,
  f32Add: [0x92] as Bytes,
  f32Max: [0x97] as Bytes,
  /** Relaxed SIMD: a·b + c, fused or not as the engine likes (both are within float32 rounding). */
  f32x4RelaxedMadd: [0xfd, ...uleb(0x105)] as Bytes,
  /** v128.const with the int32 `v` in all four lanes. */
  i32x4Const: (v: number): Bytes => {
    const lane = [...new Uint8Array(Int32Array.of(v).buffer)];
    return [0xfd, ...uleb(0x0c), ...lane, ...lane, ...lane, ...lane];
  },
  /** v128.const with the int32 lanes `v`. */
  i32x4Lanes: (v: [number, number, number, number]): Bytes => [
    0xfd,
    ...uleb(0x0c),
    ...new Uint8Array(Int32Array.from(v).buffer),
  ],
  /** v128.const with the float32 `v` in all four lanes. */
  f32x4Const: (v: number): Bytes => {
    const lane = [...new Uint8Array(Float32Array.of(v).buffer)];
    return [0xfd, ...uleb(0x0c), ...lane, ...lane, ...lane, ...lane];
  },
};

export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  /** Extra locals after the parameters, in order. */
  locals: number[];
  body: Bytes[];
}

/**
 * A module importing env.memory (at least `pages` 64 KiB pages) and exporting `functions`; with
 * `sharedMaxPages`, the memory is a shared one of at most that many pages (for worker threads).
 */
export function wasmModule(
  functions: WasmFunction[],
  pages: number,
  sharedMaxPages?: number,
): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [
    0x60,
    ...vec(f.params.map((t) => [t])),
    ...vec(f.results.map((t) => [t])),
  ]);
  const limits =
    sharedMaxPages === undefined ? [0x00, ...uleb(pages)] : [0x03, ...uleb(pages), ...uleb(sharedMaxPages)];
  const imports = [[...name('env'), ...name('memory'), 0x02, ...limits]];
  const codes = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [...uleb(1), t]));
    const body = [...locals, ...f.body.flat(), ...op.end];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(codes)),
  ]);
}
