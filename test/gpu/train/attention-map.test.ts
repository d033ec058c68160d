// The attention view's probabilities (probes.ts attentionMap, reference/attention-probabilities.ts):
// zero outside what each variant lets a query see, rows summing to 1, and the same weights the
// CPU references of the attention use (P·V is their output, log P is the score minus their lse).

import { describe, expect, it } from 'vitest';
import { defaultModelConfig, type Variant } from '../../../src/gpu/model/config.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';
import { attentionForwardReference } from '../../../src/gpu/reference/attention.ts';
import { attentionProbabilities } from '../../../src/gpu/reference/attention-probabilities.ts';
import {
  lagkvKeepCount,
  lagkvSelectReference,
  lrsaAttentionForwardReference,
  lrsaVisibleMask,
} from '../../../src/gpu/reference/lrsa.ts';
import { type AnyRun, createRun } from '../../../src/gpu/train/factory.ts';
import type { AttentionMap } from '../../../src/gpu/train/protocol.ts';
import { defaultTrainConfig } from '../../../src/gpu/train/train-config.ts';
import { cpuEngine, tinyNiahSpec } from '../../harness/engine.ts';

const T = 24;
const H = 2;
const D = 8;

async function trainedRun(variant: Variant): Promise<AnyRun> {
  const base = tinyNiahSpec(`a-${variant}`);
  const spec = {
    ...base,
    model: defaultModelConfig({
      ...base.model,
      layers: 2,
      variant,
      lrsa: { sink: 2, chunk: 4, ratio: 0.5, scoreVRatio: 1 },
    }),
    train: defaultTrainConfig({ steps: 3, batchSize: 2, evalEvery: 0, warmupSteps: 1 }),
  };
  const env = { gpu: null, scanner: inlineScanner(), loadCorpus: async () => '', store: null };
  const run = await createRun(spec, env, () => {});
  while (await run.advance()) {}
  return run;
}

const p = (map: AttentionMap, h: number, t: number, u: number) => map.probs[(h * T + t) * T + u];

/** Σ_u P_tu v_u for every head and query, [T, C]. */
function weightedValues(map: AttentionMap, v: Float32Array): Float64Array {
  const out = new Float64Array(T * H * D);
  for (let h = 0; h < H; h++)
    for (let t = 0; t < T; t++)
      for (let u = 0; u < T; u++)
        for (let d = 0; d < D; d++) out[t * H * D + h * D + d] += p(map, h, t, u) * v[u * H * D + h * D + d];
  return out;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst).toBeLessThan(tol);
}

describe('attention map', () => {
  it('window: zero outside the band t−W+1 … t, rows sum to 1, P·V is the reference attention output', async () => {
    const run = await trainedRun('window');
    const map = await run.attentionMap(1, 1);
    expect(map).toMatchObject({ T, heads: H, window: 4, attention: 'window' });
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        let sum = 0;
        for (let u = 0; u < T; u++) {
          const inBand = u <= t && t - u < 4;
          if (!inBand) expect(p(map, h, t, u)).toBe(0);
          else expect(p(map, h, t, u)).toBeGreaterThan(0);
          sum += p(map, h, t, u);
        }
        expect(sum).toBeCloseTo(1, 5);
      }
    }
    // The q, k, v the layer used (the map's forward pass is the last one).
    const { q, k, v } = await run.model.readAttentionInputs(1);
    const shape = { B: 1, T, H, D, window: 4 };
    const ref = attentionForwardReference(q, k, v, shape, Float64Array);
    expectClose(weightedValues(map, v), ref.out, 1e-5);
    // log P_tu = scale · q_t·k_u − lse_t, for a key inside the band.
    const t = 10;
    const u = 8;
    let s = 0;
    for (let d = 0; d < D; d++) s += q[t * H * D + d] * k[u * H * D + d];
    expect(Math.log(p(map, 0, t, u))).toBeCloseTo(s / Math.sqrt(D) - ref.lse[t], 4);
  });

  it('global: every earlier key is visible, nothing after the query', async () => {
    const run = await trainedRun('global');
    const map = await run.attentionMap(0, 0);
    expect(map.attention).toBe('global');
    for (let t = 0; t < T; t++) {
      let sum = 0;
      for (let u = 0; u < T; u++) {
        if (u > t) expect(p(map, 1, t, u)).toBe(0);
        else expect(p(map, 1, t, u)).toBeGreaterThan(0);
        sum += p(map, 1, t, u);
      }
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('lrsa: only the keys LagKV kept are visible, and P·V is the LRSA reference output', async () => {
    const run = await trainedRun('lrsa');
    const map = await run.attentionMap(0, 0);
    expect(map.attention).toBe('lrsa');
    const { q, k, v } = await run.model.readAttentionInputs(0);
    const shape = {
      batch: 1,
      seqLen: T,
      heads: H,
      headDim: D,
      sink: 2,
      chunk: 4,
      keep: lagkvKeepCount(4, 0.5),
    };
    const { selected } = lagkvSelectReference(k, v, shape, { scoreVRatio: 1 });
    const mask = lrsaVisibleMask(selected, shape);
    let hidden = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === 0) expect(map.probs[i]).toBe(0);
      else expect(map.probs[i]).toBeGreaterThan(0);
      // Keys before the query that LRSA dropped: there must be some at T = 24.
      const t = Math.floor(i / T) % T;
      if (mask[i] === 0 && i % T <= t) hidden++;
    }
    expect(hidden).toBeGreaterThan(0);
    const ref = lrsaAttentionForwardReference(q, k, v, selected, shape, { precision: 'f64' });
    expectClose(weightedValues(map, v), ref.out, 1e-5);
  });

  it('the reference refuses arrays that are too short', () => {
    expect(() =>
      attentionProbabilities(new Float32Array(3), new Float32Array(3), { B: 1, T: 2, H: 1, D: 2, window: 2 }),
    ).toThrow(/q has 3 elements, needs 4/);
  });

  it('through the engine: unknown layers are refused with the limit', async () => {
    const e = cpuEngine(null);
    await e.start(tinyNiahSpec('e'));
    await e.idle();
    const map = await e.attentionMap('e', 0, 0);
    expect(map.probs.length).toBe(H * T * T);
    await expect(e.attentionMap('e', 0, 3)).rejects.toThrow(/layer: 3 is outside 0 … 0/);
  });
});
