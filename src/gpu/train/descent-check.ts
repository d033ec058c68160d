// Does a step of Wq, Wk, Wv along the counterfactual gradient lower the real loss?
// The end-to-end half of the gradient check (gradient-check.ts): the bit-level comparison says
// whether the surrogate predicts each bit's effect; this one moves a ROSA layer's projection
// matrices by a finite step (large enough to flip bits: the loss is piecewise constant in them)
// along a direction and reruns the forward pass. Directions: the surrogate gradient (descent and
// ascent), its sign (what Adam's first steps follow), the weight gradient built from the true bit
// derivatives (BlinkDL's global finite difference, chained the same way), and random directions
// as the baseline. Each step has length relativeStep · ‖W‖ over the layer's matrices.

import { rng } from '../../common/random.ts';
import type { RosaScanner } from '../model/backend.ts';
import type { Model } from '../model/model.ts';

export interface DescentStep {
  /** ‖ΔW‖ / ‖W‖ over the layer's projection matrices. */
  relativeStep: number;
  /** Loss change (negative: lower) stepping against the surrogate gradient. */
  surrogate: number;
  /** Stepping along it: a gradient that points the right way makes this go up. */
  surrogateAscent: number;
  /** Stepping against its sign, as Adam's first updates do. */
  surrogateSign: number;
  /** Stepping against the gradient built from the true bit derivatives; null when that is 0. */
  trueBits: number | null;
  /** Mean over random directions. */
  random: number;
}

/** One projection matrix of the layer with its two gradients (same layout as the matrix). */
export interface DescentMatrix {
  param: Float32Array;
  surrogate: ArrayLike<number>;
  truth: ArrayLike<number>;
}

export interface DescentInput {
  model: Model<Float32Array, Int32Array>;
  scanner: RosaScanner;
  tokens: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  baseLoss: number;
  matrices: DescentMatrix[];
  relativeSteps?: readonly number[];
  randomDirections?: number;
  seed?: number;
}

function norm(parts: ArrayLike<number>[]): number {
  let s = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) s += p[i] * p[i];
  return Math.sqrt(s);
}

export async function descentSteps(input: DescentInput): Promise<DescentStep[]> {
  const { model, scanner, tokens, targets, B, T, baseLoss, matrices } = input;
  const sizes = input.relativeSteps ?? [0.01, 0.03, 0.1];
  const randomCount = input.randomDirections ?? 4;
  const weightNorm = norm(matrices.map((m) => m.param));
  const saved = matrices.map((m) => Float32Array.from(m.param));

  /** Loss change after W ← W + size · ‖W‖ · direction / ‖direction‖; null for a zero direction. */
  const lossAfter = async (direction: ArrayLike<number>[], size: number): Promise<number | null> => {
    const n = norm(direction);
    if (n === 0) return null;
    const scale = (size * weightNorm) / n;
    matrices.forEach((m, k) => {
      for (let i = 0; i < m.param.length; i++) m.param[i] = saved[k][i] + scale * direction[k][i];
    });
    const loss = (await model.forward(tokens, targets, B, T, scanner)).loss.meanLoss;
    matrices.forEach((m, k) => {
      m.param.set(saved[k]);
    });
    return loss - baseLoss;
  };

  const negate = (a: ArrayLike<number>) => Float64Array.from(a, (x) => -x);
  const against = matrices.map((m) => negate(m.surrogate));
  const along = matrices.map((m) => Float64Array.from(m.surrogate));
  const sign = matrices.map((m) => Float64Array.from(m.surrogate, (x) => -Math.sign(x)));
  const truth = matrices.map((m) => negate(m.truth));
  const r = rng(input.seed ?? 1);
  const randoms = Array.from({ length: randomCount }, () =>
    matrices.map((m) => Float64Array.from(m.param, () => r() * 2 - 1)),
  );

  const out: DescentStep[] = [];
  for (const size of sizes) {
    let random = 0;
    for (const d of randoms) random += (await lossAfter(d, size)) ?? 0;
    out.push({
      relativeStep: size,
      surrogate: (await lossAfter(against, size)) ?? 0,
      surrogateAscent: (await lossAfter(along, size)) ?? 0,
      surrogateSign: (await lossAfter(sign, size)) ?? 0,
      trueBits: await lossAfter(truth, size),
      random: randomCount > 0 ? random / randomCount : 0,
    });
  }
  return out;
}
