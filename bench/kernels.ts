// `npm run bench:kernels [-- --size small|medium] [--only matmul,attention,...]`
// Prints one JSON document: the adapter, then rows of time / GFLOP/s / GB/s per kernel, and
// (`profile`) each kernel's GPU time in one training step per variant, where timestamps exist.
// Not a test: figures are for the closing notes and for comparing two paths in one run.

import { createNodeGpuContext } from '../src/gpu/platform/node.ts';
import { benchAttention } from './kernels/attention.ts';
import type { BenchRow } from './kernels/common.ts';
import { benchLrsa } from './kernels/lrsa.ts';
import { benchMatmul } from './kernels/matmul.ts';
import { benchOps } from './kernels/ops.ts';
import { benchProfile } from './kernels/profile.ts';
import { benchRosa } from './kernels/rosa.ts';

type Family = (
  ctx: Awaited<ReturnType<typeof createNodeGpuContext>>,
  size: 'small' | 'medium',
) => Promise<BenchRow[]>;

const FAMILIES: Record<string, Family> = {
  matmul: benchMatmul,
  attention: (ctx, size) => benchAttention(ctx, size),
  ops: benchOps,
  rosa: benchRosa,
  lrsa: benchLrsa,
  /** GPU time per kernel in one training step (timestamp-query). */
  profile: benchProfile,
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ctx = await createNodeGpuContext({
  toggles: process.argv.includes('--fast') ? ['disable_robustness'] : [],
});
const size = (arg('size') ?? (ctx.adapter.isSoftware ? 'small' : 'medium')) as 'small' | 'medium';
const only = arg('only')?.split(',');
const results: Record<string, BenchRow[] | { error: string }> = {};
for (const [name, bench] of Object.entries(FAMILIES)) {
  if (only && !only.includes(name)) continue;
  process.stderr.write(`bench ${name} (${size})…\n`);
  try {
    results[name] = await bench(ctx, size);
  } catch (err) {
    results[name] = { error: (err as Error).message };
  }
}
console.log(
  JSON.stringify(
    {
      adapter: ctx.adapter,
      size,
      date: new Date().toISOString(),
      results,
    },
    null,
    2,
  ),
);
process.exit(0);
