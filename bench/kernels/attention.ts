// Attention (and RoPE) timings against sequence length: windowed attention should grow
// linearly in T, global attention quadratically. Each forward+backward row carries its ratio
// to the shortest T of the same mode; with W = 128 the target is ≤ 9× for T = 4096 over
// T = 512 (windowed; 8× from T plus the first W rows that see fewer keys) and ≈ 64× (global).

import type { GpuContext } from '../../src/gpu/context.ts';
import { attentionBackward, attentionForward } from '../../src/gpu/ops/attention.ts';
import { createRopeTable, ropeForward } from '../../src/gpu/ops/rope.ts';
import { randomArray } from '../../src/gpu/random.ts';
import { createTensor, destroyTensors, type Tensor } from '../../src/gpu/tensor.ts';
import { type BenchRow, row, timeGpu } from './common.ts';

export interface AttentionBenchOptions {
  /** Sequence lengths; the first is the reference of the ratios. */
  T?: number[];
  B?: number;
  C?: number;
  H?: number;
  /** Window of the windowed mode. */
  window?: number;
  warmup?: number;
  repeats?: number;
}

const SIZES: Record<'small' | 'medium', Required<Omit<AttentionBenchOptions, 'warmup' | 'repeats'>>> = {
  // SwiftShader-sized: the global T = 4096 case alone is ~10 GFLOP.
  small: { T: [512, 1024, 2048, 4096], B: 1, C: 64, H: 2, window: 128 },
  medium: { T: [512, 1024, 2048, 4096], B: 4, C: 256, H: 4, window: 128 },
};

/** Visible (query, key) pairs per head and batch element: Σ_t min(t + 1, W). */
export function attentionPairs(T: number, window: number): number {
  const w = Math.min(window, T);
  return (w * (w + 1)) / 2 + (T - w) * w;
}

export async function benchAttention(
  ctx: GpuContext,
  size: 'small' | 'medium',
  options: AttentionBenchOptions = {},
): Promise<BenchRow[]> {
  const { T: lengths, B, C, H, window } = { ...SIZES[size], ...options };
  const warmup = options.warmup ?? 1;
  const repeats = options.repeats ?? 3;
  const D = C / H;
  const rows: BenchRow[] = [];
  for (const mode of ['windowed', 'global'] as const) {
    const W = mode === 'windowed' ? window : Number.POSITIVE_INFINITY;
    let reference: number | null = null;
    for (const T of lengths) {
      const n = B * T * C;
      const make = (name: string, length = n, seed?: number): Tensor =>
        createTensor(ctx, [length], 'f32', name, seed === undefined ? undefined : randomArray(length, seed));
      const t = {
        q: make('q', n, 1),
        k: make('k', n, 2),
        v: make('v', n, 3),
        out: make('out'),
        lse: make('lse', B * H * T),
        dout: make('dout', n, 4),
        delta: make('delta', B * H * T),
        dq: make('dq'),
        dk: make('dk'),
        dv: make('dv'),
      };
      const shape = { B, T, H, D, window: W };
      const pairs = B * H * attentionPairs(T, W);
      // Pipelines depend on D only, so only the first length needs a warm-up run (the global
      // T = 4096 case takes about a minute per run on SwiftShader).
      const timing = { warmup: T === lengths[0] ? warmup : 0, repeats };
      // Minimal traffic: each [B, T, C] tensor read or written once.
      const fwdMs = await timeGpu(ctx, (batch) => attentionForward(batch, t, shape), timing);
      const bwdMs = await timeGpu(ctx, (batch) => attentionBackward(batch, t, shape), timing);
      destroyTensors(...Object.values(t));
      const label = `B=${B} T=${T} C=${C} H=${H} W=${mode === 'windowed' ? window : 'global'}`;
      // FLOPs as executed: forward q·k and p·v (4D per visible pair); backward recomputes q·k
      // and dout·v in both passes plus dq, dk, dv updates (14D per pair).
      rows.push({ ...row(`attention.forward.${mode}`, label, fwdMs, 4 * D * pairs, 4 * n * 4), T, mode });
      rows.push({ ...row(`attention.backward.${mode}`, label, bwdMs, 14 * D * pairs, 8 * n * 4), T, mode });
      const total = fwdMs + bwdMs;
      reference ??= total;
      rows.push({
        ...row(`attention.fwd+bwd.${mode}`, label, total, 18 * D * pairs, 12 * n * 4),
        T,
        mode,
        ratioToFirstT: Number((total / reference).toFixed(2)),
        pairRatioToFirstT: Number((attentionPairs(T, W) / attentionPairs(lengths[0], W)).toFixed(2)),
      });
    }
  }

  // RoPE on q at the longest length (memory-bound: 6 FLOPs and 16 bytes per channel pair).
  const T = lengths[lengths.length - 1];
  const n = B * T * C;
  const x = createTensor(ctx, [n], 'f32', 'x', randomArray(n, 5));
  const table = createRopeTable(ctx, T, D);
  const ropeMs = await timeGpu(ctx, (batch) => ropeForward(batch, { x, out: x, table }, { B, T, H, D }), {
    warmup,
    repeats,
    inner: 4,
  });
  destroyTensors(x, table.tensor);
  rows.push(row('rope.forward.in-place', `B=${B} T=${T} C=${C} H=${H}`, ropeMs, 3 * n, 8 * n + 4 * T * D));
  return rows;
}
