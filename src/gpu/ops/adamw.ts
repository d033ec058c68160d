// Wrapper for shaders/adamw.wgsl: AdamW over parameter groups with global gradient-norm
// clipping computed and applied on the GPU. Semantics, formulas and defaults are those of
// the CPU twin, src/gpu/reference/adamw.ts (groups with lr 0 are frozen; groups marked
// excludeFromNorm are neither counted in the norm nor clipped).
//
// One step records: a sum-of-squares dispatch per gradient (partials in fixed slots), one
// finishing dispatch writing [norm, clipScale] into a 2-float buffer, then one update
// dispatch per parameter that reads the clip scale from that buffer.

import type { CommandBatch } from '../batch.ts';
import type { GpuContext } from '../context.ts';
import { GpuError } from '../errors.ts';
import {
  type AdamWHyperparameters,
  type AdamWUpdateArgs,
  clippingEnabled,
  DEFAULT_ADAMW,
} from '../reference/adamw.ts';
import { createTensor, destroyTensors, readTensor, sameMemory, type Tensor } from '../tensor.ts';
import { uniformLayout } from './uniforms.ts';
import { needCount, needDistinct, needTensor, spreadWorkgroups } from './workgroups.ts';

export { type AdamWHyperparameters, DEFAULT_ADAMW } from '../reference/adamw.ts';

/** Invocations per workgroup of every adamw entry point. */
export const ADAMW_WORKGROUP = 256;
const WG = ADAMW_WORKGROUP;
/** At most this many partial sums per gradient tensor ... */
const MAX_SLOTS = 64;
/** ... and at least this many elements per invocation before another slot is worth it. */
const ELEMENTS_PER_INVOCATION = 8;

export const ADAMW_NORM_PARAMS = uniformLayout(
  'adamw',
  'NormParams',
  { n: 'u32', slot: 'u32', maxNorm: 'f32', clip: 'u32' },
  ['sum_squares', 'finish_norm'],
);

export const ADAMW_UPDATE_PARAMS = uniformLayout(
  'adamw',
  'UpdateParams',
  {
    n: 'u32',
    lr: 'f32',
    weightDecay: 'f32',
    beta1: 'f32',
    beta2: 'f32',
    eps: 'f32',
    bc1: 'f32',
    bc2: 'f32',
    useClip: 'u32',
  },
  ['update'],
);

/** Number of partial-sum slots (= workgroups) the norm pass gives a gradient of n elements. */
export function gradNormSlots(n: number): number {
  return Math.min(MAX_SLOTS, Math.max(1, Math.ceil(n / (WG * ELEMENTS_PER_INVOCATION))));
}

/** partials[slot .. slot + slots) = Σ g² over `slots` grid-stride shares of grad. */
export function gradSumSquares(
  batch: CommandBatch,
  grad: Tensor,
  partials: Tensor,
  slot: number,
  slots = gradNormSlots(grad.length),
): void {
  const op = 'gradSumSquares';
  needCount(op, 'slot', slot);
  needCount(op, 'slots', slots, 1);
  if (slots > MAX_SLOTS) throw new GpuError('invalid-shape', `${op}: slots = ${slots} exceeds ${MAX_SLOTS}`);
  needTensor(op, grad, 0, 'grad');
  needTensor(op, partials, slot + slots, 'partials');
  needDistinct(op, partials, grad, 'grad');
  batch.dispatch({
    shader: 'adamw',
    entryPoint: 'sum_squares',
    label: `grad sum of squares "${grad.label}"`,
    uniforms: ADAMW_NORM_PARAMS.pack({ n: grad.length, slot, maxNorm: 0, clip: 0 }),
    buffers: [grad, partials],
    workgroups: [slots],
  });
}

/** normOut [2] = [√(Σ partials[0 .. slots)), clip scale] (clip scale 1 when clipping is off). */
export function gradNormFinish(
  batch: CommandBatch,
  partials: Tensor,
  slots: number,
  normOut: Tensor,
  maxGradNorm: number,
): void {
  const op = 'gradNormFinish';
  needCount(op, 'slots', slots);
  needTensor(op, partials, slots, 'partials');
  needTensor(op, normOut, 2, 'normOut');
  needDistinct(op, normOut, partials, 'partials');
  const clip = clippingEnabled(maxGradNorm);
  batch.dispatch({
    shader: 'adamw',
    entryPoint: 'finish_norm',
    label: 'grad norm',
    uniforms: ADAMW_NORM_PARAMS.pack({
      n: 0,
      slot: slots,
      maxNorm: clip ? maxGradNorm : 0,
      clip: clip ? 1 : 0,
    }),
    buffers: [partials, normOut],
    workgroups: [1],
  });
}

export interface GpuAdamWParam {
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
}

function checkHyper(op: string, h: { beta1: number; beta2: number; eps: number }): void {
  for (const [name, value] of [
    ['beta1', h.beta1],
    ['beta2', h.beta2],
  ] as const) {
    if (!(value >= 0 && value < 1)) throw new RangeError(`${op}: ${name} = ${value} must be in [0, 1)`);
  }
  if (!(h.eps > 0)) throw new RangeError(`${op}: eps = ${h.eps} must be > 0`);
}

/**
 * One AdamW update of one tensor (in place on param, m, v). `normOut` is gradNormFinish's
 * output; its clip scale multiplies the gradient unless useClip is false. lr = 0 records nothing.
 */
export function adamwUpdate(
  batch: CommandBatch,
  t: GpuAdamWParam,
  normOut: Tensor,
  args: AdamWUpdateArgs & { useClip?: boolean },
): void {
  const op = 'adamwUpdate';
  const { lr, weightDecay, beta1, beta2, eps, step, useClip = true } = args;
  if (args.gradScale !== undefined && args.gradScale !== 1) {
    throw new GpuError(
      'validation',
      `${op}: the GPU update takes its gradient scale from normOut, not gradScale`,
    );
  }
  needCount(op, 'step', step, 1);
  checkHyper(op, args);
  if (!(lr >= 0) || !(weightDecay >= 0)) {
    throw new RangeError(`${op}: lr = ${lr} and weightDecay = ${weightDecay} must be ≥ 0`);
  }
  const n = t.param.length;
  needTensor(op, t.param, n, 'param');
  needTensor(op, t.grad, n, 'grad');
  needTensor(op, t.m, n, 'm');
  needTensor(op, t.v, n, 'v');
  needTensor(op, normOut, 2, 'normOut');
  const all = [t.param, t.grad, t.m, t.v, normOut];
  if (all.some((x, i) => all.some((y, j) => j > i && sameMemory(x, y)))) {
    throw new GpuError(
      'validation',
      `${op}: param, grad, m, v and normOut of "${t.param.label}" must not share memory`,
    );
  }
  if (lr === 0 || n === 0) return;
  batch.dispatch({
    shader: 'adamw',
    entryPoint: 'update',
    label: `adamw "${t.param.label}"`,
    uniforms: ADAMW_UPDATE_PARAMS.pack({
      n,
      lr,
      weightDecay,
      beta1,
      beta2,
      eps,
      bc1: 1 - beta1 ** step,
      bc2: 1 - beta2 ** step,
      useClip: useClip ? 1 : 0,
    }),
    buffers: [t.param, t.grad, t.m, t.v, normOut],
    workgroups: spreadWorkgroups(Math.ceil(n / WG)),
  });
}

/** Zero-fills gradient tensors (before a step's backward, unless accumulating). */
export function zeroGradients(batch: CommandBatch, grads: readonly Tensor[]): void {
  for (const g of grads) batch.clear(g);
}

export interface GpuParamGroup {
  name?: string;
  /** Read at every recordStep, so schedules may change it between steps; 0 freezes the group. */
  lr: number;
  weightDecay: number;
  params: ReadonlyArray<{ param: Tensor; grad: Tensor }>;
  /** Leave this group's gradients out of the global norm and unclipped (default false). */
  excludeFromNorm?: boolean;
}

/** AdamW state on the GPU: moments per parameter, norm partials, and the [norm, clip] buffer. */
export class AdamW {
  readonly groups: readonly GpuParamGroup[];
  readonly hyper: AdamWHyperparameters;
  /** Moments, parallel to groups[i].params[j]; zero at creation. */
  readonly moments: ReadonlyArray<ReadonlyArray<{ m: Tensor; v: Tensor }>>;
  /** f32 [2]: gradient norm and clip scale of the last recorded step. */
  readonly norm: Tensor;
  private readonly partials: Tensor;
  private readonly slots: number[][];
  private readonly totalSlots: number;
  private readonly ctx: GpuContext;

  constructor(
    ctx: GpuContext,
    groups: readonly GpuParamGroup[],
    hyper: AdamWHyperparameters = DEFAULT_ADAMW,
  ) {
    checkHyper('AdamW', hyper);
    this.ctx = ctx;
    this.groups = groups;
    this.hyper = { ...hyper };
    let next = 0;
    this.slots = groups.map((g) =>
      g.params.map(({ param, grad }) => {
        if (param.length !== grad.length) {
          throw new GpuError(
            'invalid-shape',
            `AdamW group "${g.name ?? '?'}": param "${param.label}" has ${param.length} elements, grad "${grad.label}" ${grad.length}`,
          );
        }
        if (g.excludeFromNorm) return -1;
        const at = next;
        next += gradNormSlots(grad.length);
        return at;
      }),
    );
    this.totalSlots = next;
    this.moments = groups.map((g) =>
      g.params.map(({ param }) => ({
        m: createTensor(ctx, [param.length], 'f32', `${param.label}:adam-m`),
        v: createTensor(ctx, [param.length], 'f32', `${param.label}:adam-v`),
      })),
    );
    this.partials = createTensor(ctx, [Math.max(1, next)], 'f32', 'adamw:norm-partials');
    this.norm = createTensor(ctx, [2], 'f32', 'adamw:norm');
  }

  /** Records the global gradient norm and clip scale into `norm` (no update). */
  recordGradNorm(batch: CommandBatch): void {
    this.groups.forEach((g, gi) => {
      g.params.forEach(({ grad }, pi) => {
        const slot = this.slots[gi][pi];
        if (slot >= 0) gradSumSquares(batch, grad, this.partials, slot);
      });
    });
    gradNormFinish(batch, this.partials, this.totalSlots, this.norm, this.hyper.maxGradNorm);
  }

  /** Records norm, clipping and the update of every parameter for 1-based step `step`. */
  recordStep(batch: CommandBatch, step: number): void {
    this.recordGradNorm(batch);
    const { beta1, beta2, eps } = this.hyper;
    this.groups.forEach((g, gi) => {
      g.params.forEach(({ param, grad }, pi) => {
        const { m, v } = this.moments[gi][pi];
        adamwUpdate(batch, { param, grad, m, v }, this.norm, {
          lr: g.lr,
          weightDecay: g.weightDecay,
          beta1,
          beta2,
          eps,
          step,
          useClip: !g.excludeFromNorm,
        });
      });
    });
  }

  zeroGradients(batch: CommandBatch): void {
    zeroGradients(
      batch,
      this.groups.flatMap((g) => g.params.map((p) => p.grad)),
    );
  }

  /** Reads the last step's gradient norm and clip scale (waits for queued work). */
  async readGradNorm(): Promise<{ gradNorm: number; clipScale: number }> {
    const [gradNorm, clipScale] = await readTensor(this.ctx, this.norm);
    return { gradNorm, clipScale };
  }

  /** Frees the optimizer's own buffers (moments, partials, norm), not the parameters. */
  destroy(): void {
    destroyTensors(this.partials, this.norm, ...this.moments.flat().flatMap((x) => [x.m, x.v]));
  }
}
