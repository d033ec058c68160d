// `npx tsx bench/cpu-attention.ts [--relaxed-simd]`: times the CPU attention forward and backward
// (src/gpu/cpu/attention.ts) alone at the bench shapes of bench/cpu-vs-torch.sh (B 8, H 2;
// T 256 D 32 and T 512 D 64; window 32 and global), median and minimum of repeated calls. One JSON line per
// case. Not a test.

import './relaxed-simd-flag.ts';
import { attentionBackwardFast, attentionForwardFast } from '../src/gpu/cpu/attention.ts';
import type { AttentionShape } from '../src/gpu/reference/attention.ts';

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 15;
const only = process.argv.includes('--global')
  ? 'global'
  : process.argv.includes('--window')
    ? 'window'
    : null;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

for (const [T, D] of [
  [256, 32],
  [512, 64],
]) {
  for (const variant of ['window', 'global'] as const) {
    if (only && variant !== only) continue;
    const shape: AttentionShape = { B: 8, T, H: 2, D, window: variant === 'global' ? T : 32 };
    const n = shape.B * T * shape.H * D;
    const r = () => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const [q, k, v, dout] = [r(), r(), r(), r()];
    const out = new Float32Array(n);
    const lse = new Float32Array(shape.B * shape.H * T);
    const [dq, dk, dv] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const fwd: number[] = [];
    const bwd: number[] = [];
    for (let i = 0; i < reps + 3; i++) {
      const t0 = performance.now();
      attentionForwardFast(q, k, v, out, lse, shape);
      const t1 = performance.now();
      attentionBackwardFast(q, k, v, out, lse, dout, dq, dk, dv, shape);
      const t2 = performance.now();
      if (i >= 3) {
        fwd.push(t1 - t0);
        bwd.push(t2 - t1);
      }
    }
    // The minimum as well: on a shared machine it is the run least disturbed by other work.
    const ms = (xs: number[]) => ({ median: +median(xs).toFixed(2), min: +Math.min(...xs).toFixed(2) });
    console.log(JSON.stringify({ T, D, variant, forwardMs: ms(fwd), backwardMs: ms(bwd) }));
  }
}
