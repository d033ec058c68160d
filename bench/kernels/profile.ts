// Per-kernel GPU time of one training step per variant, from timestamp queries (profiler.ts):
// where the step's GPU time goes, kernel by kernel. Needs an adapter with timestamp-query.

import type { GpuContext } from '../../src/gpu/context.ts';
import { defaultModelConfig, type Variant } from '../../src/gpu/model/config.ts';
import { inlineScanner } from '../../src/gpu/model/scanners.ts';
import { profileTrainingStep } from '../../src/gpu/train/profile-step.ts';
import type { BenchRow } from './common.ts';

export async function benchProfile(ctx: GpuContext, size: 'small' | 'medium'): Promise<BenchRow[]> {
  if (!ctx.canProfile) throw new Error('this adapter offers no timestamp-query: no per-kernel GPU times');
  const [T, width, batch] = size === 'small' ? [128, 64, 4] : [256, 64, 8];
  const rows: BenchRow[] = [];
  for (const variant of ['window', 'window+rosa', 'global', 'lrsa'] as Variant[]) {
    const config = defaultModelConfig({
      vocabSize: 64,
      seqLen: T,
      layers: 2,
      width,
      heads: 2,
      mlpHidden: 2 * width,
      window: 32,
      variant,
    });
    const profile = await profileTrainingStep(ctx, config, batch, inlineScanner());
    for (const k of profile.kernels) {
      rows.push({
        kernel: k.kernel,
        shape: `${variant} step B=${batch} T=${T} C=${width}`,
        ms: Number(k.totalMs.toFixed(4)),
        calls: k.calls,
        share: Number((k.totalMs / Math.max(profile.totalMs, 1e-9)).toFixed(4)),
      });
    }
  }
  return rows;
}
