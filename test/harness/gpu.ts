// Kernel-test harness: one Dawn device per test process, and kernel-vs-twin comparison.
// There is no skip path: a kernel test that cannot get an adapter fails with the reason.

import type { GpuContext } from '../../src/gpu/context.ts';
import { createNodeGpuContext } from '../../src/gpu/platform/node.ts';

let shared: Promise<GpuContext> | null = null;

export function testGpu(): Promise<GpuContext> {
  shared ??= createNodeGpuContext();
  return shared;
}

export { compareArrays, expectClose } from './compare.ts';
