// CPU twin of shaders/adamw.wgsl: AdamW with decoupled weight decay and global
// gradient-norm clipping, over parameter groups with their own learning rate and decay.
//
// One step t (1-based), for every parameter of a group with lr > 0:
//   g  = grad · clipScale
//   m  = β1·m + (1 − β1)·g          v = β2·v + (1 − β2)·g²
//   m̂  = m / (1 − β1^t)             v̂ = v / (1 − β2^t)
//   p  = p − lr · (m̂ / (√v̂ + ε) + wd · p)        (decay uses p before this step)
// A group with lr = 0 is frozen: parameters and moments stay as they are.
//
// Clipping (as torch.nn.utils.clip_grad_norm_): norm = √(Σ over all gradients of g²),
// clipScale = min(1, maxGradNorm / (norm + 1e-6)); maxGradNorm ≤ 0 or ∞ turns it off.
// Gradients of groups marked excludeFromNorm neither count in the norm nor are scaled.
// Note the 1e-6: at norm = maxGradNorm exactly the scale is already a hair below 1.

export interface AdamWHyperparameters {
  beta1: number;
  beta2: number;
  eps: number;
  /** Global clipping threshold; ≤ 0 or Infinity: no clipping (the norm is still reported). */
  maxGradNorm: number;
}

/** The paper's recipe (docs/rosa-spec.md §6.1): β = (0.9, 0.98), ε = 1e-8; clip at 1. */
export const DEFAULT_ADAMW: AdamWHyperparameters = { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1 };

export const CLIP_EPS = 1e-6;

/** One parameter tensor with its gradient and moments, all of the same length. */
export interface CpuAdamWParam {
  param: Float32Array;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

export interface CpuParamGroup {
  name?: string;
  lr: number;
  weightDecay: number;
  params: CpuAdamWParam[];
  /** Leave this group's gradients out of the global norm and unclipped (default false). */
  excludeFromNorm?: boolean;
}

export function clippingEnabled(maxGradNorm: number): boolean {
  return maxGradNorm > 0 && Number.isFinite(maxGradNorm);
}

export function clipScaleFor(norm: number, maxGradNorm: number): number {
  return clippingEnabled(maxGradNorm) ? Math.min(1, maxGradNorm / (norm + CLIP_EPS)) : 1;
}

/** L2 norm over the gradients of every group not excluded from the norm (float64 sum). */
export function globalGradNorm(groups: readonly CpuParamGroup[]): number {
  let sumSq = 0;
  for (const group of groups) {
    if (group.excludeFromNorm) continue;
    for (const { grad } of group.params) for (let i = 0; i < grad.length; i++) sumSq += grad[i] * grad[i];
  }
  return Math.sqrt(sumSq);
}

export interface AdamWUpdateArgs {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count for bias correction. */
  step: number;
  /** Multiplies the gradient first (the clip scale); default 1. */
  gradScale?: number;
}

function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 1)
    throw new RangeError(`AdamW step must be a whole number ≥ 1 (got ${step})`);
}

/** Updates one parameter tensor and its moments in place. lr = 0 leaves all untouched. */
export function adamwUpdateReference(p: CpuAdamWParam, args: AdamWUpdateArgs): void {
  const { lr, weightDecay, beta1, beta2, eps, step, gradScale = 1 } = args;
  checkStep(step);
  const n = p.param.length;
  if (p.grad.length !== n || p.m.length !== n || p.v.length !== n) {
    throw new RangeError(
      `AdamW: param (${n}), grad (${p.grad.length}), m (${p.m.length}) and v (${p.v.length}) lengths differ`,
    );
  }
  if (lr === 0) return;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    const g = p.grad[i] * gradScale;
    const m = beta1 * p.m[i] + (1 - beta1) * g;
    const v = beta2 * p.v[i] + (1 - beta2) * g * g;
    p.m[i] = m;
    p.v[i] = v;
    const update = m / bc1 / (Math.sqrt(v / bc2) + eps);
    p.param[i] = p.param[i] - lr * (update + weightDecay * p.param[i]);
  }
}

/** One optimizer step over all groups: norm, clip scale, updates. Returns the metrics. */
export function adamwStepReference(
  groups: readonly CpuParamGroup[],
  hyper: AdamWHyperparameters,
  step: number,
): { gradNorm: number; clipScale: number } {
  checkStep(step);
  const gradNorm = globalGradNorm(groups);
  const clipScale = clipScaleFor(gradNorm, hyper.maxGradNorm);
  for (const group of groups) {
    for (const p of group.params) {
      adamwUpdateReference(p, {
        lr: group.lr,
        weightDecay: group.weightDecay,
        beta1: hyper.beta1,
        beta2: hyper.beta2,
        eps: hyper.eps,
        step,
        gradScale: group.excludeFromNorm ? 1 : clipScale,
      });
    }
  }
  return { gradNorm, clipScale };
}
