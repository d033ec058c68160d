// What the setup shows beside Start: the memory one run needs against this device's budget,
// and how long the whole comparison will take here (config/memory.ts, config/duration.ts).

import {
  ASSUMED_RATES,
  calibrateRate,
  type DeviceClass,
  type DeviceRate,
  estimateRunMs,
} from '../../config/duration.ts';
import {
  cpuMemoryBudget,
  estimateRunMemory,
  gpuMemoryBudget,
  hostMemoryBytes,
  type MemoryBudget,
} from '../../config/memory.ts';
import type { SizeLimits } from '../../config/rules.ts';
import type { RunSpec } from '../../config/schema.ts';

export interface TimedRun {
  spec: RunSpec;
  /** Smoothed milliseconds per step, measured on this device. */
  msPerStep?: number;
}

export interface SetupEstimates {
  /** Bytes of the largest run of the comparison. */
  memoryBytes: number;
  /** Bytes of all its runs, which stay in memory together. */
  totalBytes: number;
  /** Null on WebGPU until the device limits are known. */
  budget: MemoryBudget | null;
  durationMs: number;
  rate: DeviceRate;
  device: DeviceClass;
}

export function deviceClassOf(backend: RunSpec['backend'], softwareAdapter: boolean): DeviceClass {
  return backend === 'cpu' ? 'cpu' : softwareAdapter ? 'software-gpu' : 'gpu';
}

/**
 * Estimates for a comparison about to start. The device rate comes from the latest timed run on
 * the same backend where there is one (measured), else from ASSUMED_RATES.
 */
export function setupEstimates(
  specs: readonly RunSpec[],
  context: { limits?: SizeLimits; softwareAdapter: boolean; workers: number; timed: readonly TimedRun[] },
): SetupEstimates | null {
  const first = specs[0];
  if (!first) return null;
  const device = deviceClassOf(first.backend, context.softwareAdapter);
  const assumed = ASSUMED_RATES[device];
  const timed = [...context.timed]
    .reverse()
    .find((r) => r.spec.backend === first.backend && r.msPerStep !== undefined && r.msPerStep > 0);
  const rate = timed ? calibrateRate(timed.spec, timed.msPerStep!, assumed, context.workers) : assumed;
  const each = specs.map((s) => estimateRunMemory(s.model, s.train.batchSize, s.backend).total);
  const memoryBytes = Math.max(...each);
  const totalBytes = each.reduce((a, b) => a + b, 0);
  const budget =
    first.backend === 'cpu'
      ? cpuMemoryBudget(hostMemoryBytes())
      : context.limits
        ? gpuMemoryBudget(context.limits)
        : null;
  const durationMs = specs.reduce((t, s) => t + estimateRunMs(s, rate, context.workers), 0);
  return { memoryBytes, totalBytes, budget, durationMs, rate, device };
}
