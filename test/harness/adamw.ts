import type { CpuAdamWParam } from '../../src/gpu/reference/adamw.ts';

/** A parameter entry with zero moments, for building CPU groups. */
export function cpuAdamWParam(param: Float32Array, grad: Float32Array): CpuAdamWParam {
  return { param, grad, m: new Float32Array(param.length), v: new Float32Array(param.length) };
}
