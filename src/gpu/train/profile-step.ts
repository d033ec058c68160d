// One training step of a model on random tokens with every kernel timed (profiler.ts): what
// the Device tab's profile and `bench:step --profile` show. Two warm-up steps first, so
// pipelines are compiled and scratch buffers sized before the profiled step.

import { rng } from '../../common/random.ts';
import type { GpuContext } from '../context.ts';
import type { RosaScanner } from '../model/backend.ts';
import { defaultModelConfig, type ModelConfig, type Variant } from '../model/config.ts';
import { GpuBackend } from '../model/gpu-backend.ts';
import { Model } from '../model/model.ts';
import { initialParameters } from '../model/params.ts';
import { inlineScanner } from '../model/scanners.ts';
import type { KernelProfile } from '../profiler.ts';

export interface StepProfile extends KernelProfile {
  variant: ModelConfig['variant'];
  batch: number;
  seqLen: number;
  /** Wall time of the profiled step (longer than an unprofiled one: passes are split). */
  wallMs: number;
}

const RATES = { base: 1e-3, rosa: 1e-3 };
const HYPER = { beta1: 0.9, beta2: 0.98, eps: 1e-8, maxGradNorm: 1, weightDecay: 0.1 };

export async function profileTrainingStep(
  ctx: GpuContext,
  config: ModelConfig,
  batch: number,
  scanner: RosaScanner,
  seed = 1,
): Promise<StepProfile> {
  const backend = new GpuBackend(ctx);
  const model = new Model(backend, config, initialParameters(config, seed));
  const T = config.seqLen;
  const r = rng(seed);
  const draw = () => Int32Array.from({ length: batch * T }, () => Math.floor(r() * config.vocabSize));
  const tokens = draw();
  const labels = draw();
  const step = async (n: number) => {
    await model.forward(tokens, labels, batch, T, scanner, true, { deferLoss: true });
    model.backward();
    model.optimizerStep(RATES, HYPER, n);
    await model.readStepStats();
  };
  try {
    await step(1);
    await step(2);
    let wallMs = 0;
    const profile = await ctx.profile(async () => {
      const start = performance.now();
      await step(3);
      wallMs = performance.now() - start;
    });
    return { ...profile, variant: config.variant, batch, seqLen: T, wallMs };
  } finally {
    model.dispose();
    backend.dispose();
  }
}

/** The Device tab's profile: 2 layers, width 64, T = 128, batch 4, scans inline (no workers). */
export function profileSmallStep(ctx: GpuContext, variant: Variant): Promise<StepProfile> {
  const config = defaultModelConfig({
    vocabSize: 64,
    seqLen: 128,
    layers: 2,
    width: 64,
    heads: 2,
    mlpHidden: 128,
    window: 32,
    variant,
  });
  return profileTrainingStep(ctx, config, 4, inlineScanner());
}
