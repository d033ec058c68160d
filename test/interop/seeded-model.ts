// Small playground models with seeded weights at scales where every part of the network
// matters (unit-variance projections, norm weights away from 1), for the interop fixtures:
// scripts/make-playground-fixtures.ts exports them, scripts/make-hf-fixtures.py runs the
// exports in transformers, test/interop/hf.test.ts checks both against our CPU logits.

import { rng } from '../../src/common/random.ts';
import { defaultModelConfig, type ModelConfig, type ModelOverrides } from '../../src/gpu/model/config.ts';
import { parameterSpecs } from '../../src/gpu/model/params.ts';

/** 40 characters: the fixtures' vocabulary. */
export const FIXTURE_CHARS = Array.from('abcdefghijklmnopqrstuvwxyz0123456789 .,?');

/** The token list every fixture's logits are computed for (longer than the window of 4). */
export const FIXTURE_TOKENS = [3, 17, 5, 39, 0, 22, 8, 8, 31, 12, 5, 17];

const BASE: ModelOverrides = {
  vocabSize: FIXTURE_CHARS.length,
  seqLen: 16,
  layers: 2,
  width: 16,
  heads: 2,
  mlpHidden: 32,
  // Not the defaults, so that a field lost on the way shows in the logits.
  ropeBase: 500,
  normEps: 1e-5,
};

export const FIXTURE_MODELS: ReadonlyArray<{ name: string; seed: number; overrides: ModelOverrides }> = [
  { name: 'playground-global', seed: 11, overrides: { variant: 'global' } },
  { name: 'playground-window', seed: 12, overrides: { variant: 'window', window: 4 } },
  {
    name: 'playground-window-global0',
    seed: 13,
    overrides: { variant: 'window', window: 4, globalLayers: [0] },
  },
  // The Llama family's other features: grouped-query attention and an untied head (Mistral),
  // q/k/v biases (Qwen2), q/k norm with a global layer 0 and windows after it (Qwen3).
  {
    name: 'playground-mistral-gqa',
    seed: 14,
    overrides: { variant: 'window', window: 4, heads: 4, kvHeads: 2, tiedHead: false },
  },
  {
    name: 'playground-qwen2',
    seed: 15,
    overrides: { variant: 'global', heads: 4, kvHeads: 1, attnBias: true, tiedHead: false },
  },
  {
    name: 'playground-qwen3-window-global0',
    seed: 16,
    overrides: { variant: 'window', window: 4, globalLayers: [0], heads: 4, kvHeads: 2, qkNorm: true },
  },
  // A head size ≠ width / heads (model.headDim): 4 heads of 6 at width 16, k/v on 2 heads.
  {
    name: 'playground-mistral-headdim',
    seed: 17,
    overrides: { variant: 'window', window: 4, heads: 4, kvHeads: 2, headDim: 6 },
  },
];

export function fixtureConfig(overrides: ModelOverrides): ModelConfig {
  return defaultModelConfig({ ...BASE, ...overrides });
}

/** Seeded weights: matrices with unit-variance outputs, norms 1 ± 0.3, e0/e1 ± 0.5. */
export function seededParameters(config: ModelConfig, seed: number): Map<string, Float32Array> {
  const r = rng(seed);
  const uniform = (scale: number) => (r() * 2 - 1) * scale;
  const out = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNorm = spec.shape.length === 1 && spec.init.kind === 'ones';
    const isVector = spec.shape.length === 1;
    const scale = isVector ? (isNorm ? 0.3 : 0.5) : Math.sqrt(3 / spec.shape[1]);
    for (let i = 0; i < n; i++) data[i] = (isNorm ? 1 : 0) + uniform(spec.name === 'embed' ? 1 : scale);
    out.set(spec.name, data);
  }
  return out;
}
