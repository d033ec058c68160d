import { describe, expect, it } from 'vitest';
import { ASSUMED_RATES } from '../../../src/config/duration.ts';
import { estimateRunMemory, GiB } from '../../../src/config/memory.ts';
import { setupEstimates } from '../../../src/ui/config/estimates.ts';
import { tinyNiahSpec } from '../../harness/engine.ts';

describe('setup estimates', () => {
  const limits = { maxBufferSize: GiB, maxStorageBufferBindingSize: GiB / 2 };
  const webgpu = { ...tinyNiahSpec('a'), backend: 'webgpu' as const };

  it('uses the assumed rate of the kind of device until a run on the backend was timed', () => {
    const hw = setupEstimates([webgpu], { limits, softwareAdapter: false, workers: 2, timed: [] });
    const sw = setupEstimates([webgpu], { limits, softwareAdapter: true, workers: 2, timed: [] });
    expect(hw?.rate).toEqual(ASSUMED_RATES.gpu);
    expect(sw?.rate).toEqual(ASSUMED_RATES['software-gpu']);
    expect(sw!.durationMs).toBeGreaterThan(hw!.durationMs);
    expect(hw?.budget?.bytes).toBe(8 * GiB);
    expect(hw?.memoryBytes).toBe(estimateRunMemory(webgpu.model, webgpu.train.batchSize, 'webgpu').total);
  });

  it('measures the rate from the latest timed run on the same backend', () => {
    const timed = [
      { spec: tinyNiahSpec('cpu-run'), msPerStep: 5 }, // another backend: ignored
      { spec: { ...webgpu, id: 'old' }, msPerStep: 1000 },
      { spec: { ...webgpu, id: 'new' }, msPerStep: 40 },
    ];
    const e = setupEstimates([webgpu], { limits, softwareAdapter: false, workers: 1, timed });
    expect(e?.rate.source).toBe('measured');
    // The same spec again: its steps at the measured 40 ms each.
    expect(e!.durationMs).toBeCloseTo(webgpu.train.steps * 40, 0);
  });

  it('has no WebGPU budget until the limits are known, and a host budget on the CPU', () => {
    expect(setupEstimates([webgpu], { softwareAdapter: false, workers: 1, timed: [] })?.budget).toBeNull();
    const cpu = setupEstimates([tinyNiahSpec('c')], { softwareAdapter: false, workers: 1, timed: [] });
    expect(cpu?.budget?.bytes).toBeGreaterThan(0);
    expect(cpu?.device).toBe('cpu');
  });
});
