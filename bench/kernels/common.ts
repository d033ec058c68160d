// Shared by the kernel benchmarks: time recorded GPU work and report it as JSON rows.
// Wall-clock per submit after warm-up, median of several repeats; only ratios measured
// in one run on one adapter mean anything (SwiftShader especially).

import { CommandBatch } from '../../src/gpu/batch.ts';
import type { GpuContext } from '../../src/gpu/context.ts';
import { readTensor, type Tensor } from '../../src/gpu/tensor.ts';

export interface BenchRow {
  kernel: string;
  /** Free-form shape description, e.g. "T=512 C=64 H=2 W=128". */
  shape: string;
  ms: number;
  gflops?: number;
  gbps?: number;
  [extra: string]: string | number | boolean | undefined;
}

export interface TimingOptions {
  warmup?: number;
  repeats?: number;
  /** Dispatches of `record` per submit, to amortise submit overhead for tiny kernels. */
  inner?: number;
  /** Also read this tensor back inside the timed region (to compare with libraries that only finish on read). */
  readBack?: Tensor;
}

/** Median milliseconds of one execution of `record`'s work. */
export async function timeGpu(
  ctx: GpuContext,
  record: (batch: CommandBatch) => void,
  { warmup = 2, repeats = 5, inner = 1, readBack }: TimingOptions = {},
): Promise<number> {
  const once = async () => {
    const batch = new CommandBatch(ctx, 'bench');
    for (let i = 0; i < inner; i++) record(batch);
    const t0 = performance.now();
    batch.submit();
    if (readBack) await readTensor(ctx, readBack);
    else await ctx.device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / inner;
  };
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function row(kernel: string, shape: string, ms: number, flops?: number, bytes?: number): BenchRow {
  const out: BenchRow = { kernel, shape, ms: Number(ms.toFixed(4)) };
  if (flops !== undefined) out.gflops = Number((flops / (ms * 1e6)).toFixed(4));
  if (bytes !== undefined) out.gbps = Number((bytes / (ms * 1e6)).toFixed(4));
  return out;
}
