// Local runner for bench/kernels/ops.ts: `npx tsx bench/kernels/run-ops.ts [small|medium]`.
// Prints the adapter and one JSON row per kernel.

import { createNodeGpuContext } from '../../src/gpu/platform/node.ts';
import { benchOps } from './ops.ts';

const sizes = process.argv.slice(2).filter((s): s is 'small' | 'medium' => s === 'small' || s === 'medium');
const ctx = await createNodeGpuContext();
console.log(
  JSON.stringify({
    adapter: ctx.adapter.description || ctx.adapter.device,
    software: ctx.adapter.isSoftware,
  }),
);
for (const size of sizes.length > 0 ? sizes : (['small', 'medium'] as const)) {
  for (const r of await benchOps(ctx, size)) console.log(JSON.stringify({ size, ...r }));
}
ctx.destroy();
