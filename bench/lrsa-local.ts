// Runs the LRSA kernel benchmark alone: npx tsx bench/lrsa-local.ts [small|medium]
// (the project's bench runner calls benchLrsa together with every other family).

import { createNodeGpuContext } from '../src/gpu/platform/node.ts';
import { benchLrsa } from './kernels/lrsa.ts';

async function main(): Promise<void> {
  const size = process.argv[2] === 'medium' ? 'medium' : 'small';
  const ctx = await createNodeGpuContext();
  const rows = await benchLrsa(ctx, size);
  console.log(JSON.stringify({ adapter: ctx.adapter.description, size, rows }, null, 2));
  ctx.destroy();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
