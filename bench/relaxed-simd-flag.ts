// Imported first by bench/cpu-step.ts: with --relaxed-simd on the command line, turns on V8's
// relaxed SIMD before the CPU kernels are compiled, so Node 20 (where it is behind
// --experimental-wasm-relaxed-simd) runs the fused multiply-add kernels that Chrome and
// Node ≥ 22 use by default. A bench switch only; the backend itself never sets V8 flags.

import { setFlagsFromString } from 'node:v8';

if (process.argv.includes('--relaxed-simd')) setFlagsFromString('--experimental-wasm-relaxed-simd');
