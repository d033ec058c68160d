// A tiny model and batch for the transplant tests (CPU and WebGPU backends).

import { rng } from '../../src/common/random.ts';
import { defaultModelConfig, type ModelConfig, type Variant } from '../../src/gpu/model/config.ts';

export function transplantConfig(variant: Variant, overrides: Partial<ModelConfig> = {}): ModelConfig {
  return defaultModelConfig({
    vocabSize: 11,
    seqLen: 20,
    layers: 2,
    width: 16,
    heads: 2,
    mlpHidden: 24,
    window: 4,
    variant,
    ...overrides,
  });
}

export function transplantBatch(B: number, T: number, V: number) {
  const r = rng(7);
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * V));
  const labels = Int32Array.from({ length: B * T }, (_, i) => (i % T === T - 1 ? -1 : tokens[i + 1]));
  return { tokens, labels };
}
