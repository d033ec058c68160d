// How well the surrogate's bit derivatives agree with the true ones (gradient-check.ts): cosine,
// sign agreement, descent precision, and the same comparison at the weights after the chain the
// model uses (σ'(x) · d at each activation, then dW = gᵀ u).

import type { RosaRoute } from './symbol-flip-backend.ts';

/** Agreement of the surrogate's bit derivatives with the true ones over one set of bits. */
export interface Agreement {
  /** Bits evaluated (each by a whole forward pass of its own copy of the sequence). */
  flips: number;
  /** Cosine of the two vectors of bit derivatives; null when either is all zero. */
  cosine: number | null;
  /** Share of same sign among bits where both are nonzero; null when there are none. */
  signAgreement: number | null;
  /** Among bits whose flip the surrogate expects to lower the loss, the share that really does. */
  descentPrecision: number | null;
  surrogateNonzero: number;
  trueNonzero: number;
  bothNonzero: number;
  /** Bits whose flip really lowers the loss. */
  trueImproving: number;
  surrogateNorm: number;
  trueNorm: number;
  /**
   * Cosine of the weight gradients dW = (σ'·d)ᵀ u built from either, over the layer's projection
   * matrices (a shared q/k projection is one matrix: the sum of both routes' parts); null when
   * either is zero.
   */
  weightCosine: number | null;
}

/** The headline figures of an agreement over part of a route's bits. */
export type PartialAgreement = Pick<
  Agreement,
  'flips' | 'cosine' | 'signAgreement' | 'descentPrecision' | 'bothNonzero' | 'trueNonzero'
>;

/** The bit derivatives of one (layer, route) over its evaluated bits, and the chain to the weights. */
export interface RouteSamples {
  route: RosaRoute;
  indices: number[];
  surrogate: Float64Array;
  truth: Float64Array;
  /** σ'(x) at each index: the chain factor from a bit derivative to the activation's gradient. */
  slope: Float64Array;
  /** 1 where the current bit is 1. */
  bit: Uint8Array;
  /** 1 where the bit's position starts a run of its route's symbols (q: Q-run, k: K-run). */
  runStart: Uint8Array;
}

export function partOf(
  s: RouteSamples,
  keep: (i: number) => boolean,
  u: Float32Array,
  C: number,
): PartialAgreement {
  const picked = [...s.indices.keys()].filter(keep);
  const sub: RouteSamples = {
    route: s.route,
    indices: picked.map((i) => s.indices[i]),
    surrogate: Float64Array.from(picked, (i) => s.surrogate[i]),
    truth: Float64Array.from(picked, (i) => s.truth[i]),
    slope: Float64Array.from(picked, (i) => s.slope[i]),
    bit: Uint8Array.from(picked, (i) => s.bit[i]),
    runStart: Uint8Array.from(picked, (i) => s.runStart[i]),
  };
  const a = agreementOf([sub], u, C);
  return {
    flips: a.flips,
    cosine: a.cosine,
    signAgreement: a.signAgreement,
    descentPrecision: a.descentPrecision,
    bothNonzero: a.bothNonzero,
    trueNonzero: a.trueNonzero,
  };
}

export function cosineOf(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : null;
}

/** dW[o, i] = Σ_n g[n, o] · u[n, i] for g given on a sparse set of activation indices. */
export function weightGradient(
  indices: number[],
  g: ArrayLike<number>,
  u: Float32Array,
  C: number,
  out: Float64Array,
  offset: number,
): void {
  for (let s = 0; s < indices.length; s++) {
    if (g[s] === 0) continue;
    const n = Math.floor(indices[s] / C);
    const o = indices[s] % C;
    const row = offset + o * C;
    for (let i = 0; i < C; i++) out[row + i] += g[s] * u[n * C + i];
  }
}

/** `matrixOf(route)`: which projection matrix a route's gradient goes to (shared q/k: the same). */
export function agreementOf(
  samples: RouteSamples[],
  u: Float32Array,
  C: number,
  matrixOf: (route: RosaRoute) => number = () => 0,
): Agreement {
  let flips = 0;
  for (const s of samples) flips += s.indices.length;
  const surrogate = new Float64Array(flips);
  const truth = new Float64Array(flips);
  let at = 0;
  let surrogateNonzero = 0;
  let trueNonzero = 0;
  let bothNonzero = 0;
  let sameSign = 0;
  let predictedDescents = 0;
  let trueDescents = 0;
  let trueImproving = 0;
  const matrices = 1 + Math.max(...samples.map((s) => matrixOf(s.route)));
  const wSur = new Float64Array(matrices * C * C);
  const wTrue = new Float64Array(matrices * C * C);
  for (const s of samples) {
    const gSur = new Float64Array(s.indices.length);
    const gTrue = new Float64Array(s.indices.length);
    for (let i = 0; i < s.indices.length; i++) {
      const ds = s.surrogate[i];
      const dt = s.truth[i];
      surrogate[at] = ds;
      truth[at] = dt;
      at++;
      gSur[i] = s.slope[i] * ds;
      gTrue[i] = s.slope[i] * dt;
      if (ds !== 0) surrogateNonzero++;
      if (dt !== 0) trueNonzero++;
      if (ds !== 0 && dt !== 0) {
        bothNonzero++;
        if (Math.sign(ds) === Math.sign(dt)) sameSign++;
      }
      // Flipping changes the loss by (1 − 2·bit) · d: descent flips are those with a negative change.
      const towards = s.bit[i] ? -1 : 1;
      if (towards * dt < 0) trueImproving++;
      if (towards * ds < 0) {
        predictedDescents++;
        if (towards * dt < 0) trueDescents++;
      }
    }
    const offset = matrixOf(s.route) * C * C;
    weightGradient(s.indices, gSur, u, C, wSur, offset);
    weightGradient(s.indices, gTrue, u, C, wTrue, offset);
  }
  const norm = (x: Float64Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0));
  return {
    flips,
    cosine: cosineOf(surrogate, truth),
    signAgreement: bothNonzero > 0 ? sameSign / bothNonzero : null,
    descentPrecision: predictedDescents > 0 ? trueDescents / predictedDescents : null,
    surrogateNonzero,
    trueNonzero,
    bothNonzero,
    trueImproving,
    surrogateNorm: norm(surrogate),
    trueNorm: norm(truth),
    weightCosine: cosineOf(wSur, wTrue),
  };
}

/** Surrogate at (b, τ, c) against truth at (b, τ − 1, c), where both were evaluated. */
export function shiftedCosineOf(s: RouteSamples, C: number, T: number): number | null {
  const truthAt = new Map<number, number>();
  for (let i = 0; i < s.indices.length; i++) truthAt.set(s.indices[i], s.truth[i]);
  const sur: number[] = [];
  const tru: number[] = [];
  s.indices.forEach((index, i) => {
    // index − C is the same channel one step earlier, unless t = 0 (the previous sequence).
    const earlier = truthAt.get(index - C);
    if (earlier === undefined || Math.floor(index / C) % T === 0) return;
    sur.push(s.surrogate[i]);
    tru.push(earlier);
  });
  return cosineOf(sur, tru);
}
