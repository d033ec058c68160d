// Model configuration: the types and defaults come from the settings schema (src/config/);
// here are the helpers that read a config (which attention each layer uses, where ROSA is).

import { headDimOf } from '../../config/rules.ts';
import type { ModelConfig, ModelOverrides } from '../../config/schema.ts';
import { modelSchema, variantHasLrsa, variantHasRosa } from '../../config/schema.ts';
import { DEFAULT_LRSA, DEFAULT_ROSA, defaultsOf } from '../../config/walk.ts';

export type { SizeLimits } from '../../config/rules.ts';
export { largestTensorElements } from '../../config/rules.ts';
export type {
  LrsaConfig,
  ModelConfig,
  ModelOverrides,
  RosaConfig,
  RosaQk,
  RosaSemantics,
  Variant,
} from '../../config/schema.ts';
export { ROSA_QK, ROSA_SEMANTICS, VARIANTS } from '../../config/schema.ts';
export type { FieldError } from '../../config/validate.ts';
export { DEFAULT_LRSA, DEFAULT_ROSA };

export type AttentionKind = 'global' | 'window' | 'lrsa';

export function attentionKind(config: ModelConfig, layer: number): AttentionKind {
  if (config.globalLayers.includes(layer) || config.variant === 'global') return 'global';
  if (variantHasLrsa(config.variant)) return 'lrsa';
  return 'window';
}

export function hasRosa(config: ModelConfig): boolean {
  return variantHasRosa(config.variant);
}

export function rosaLayers(config: ModelConfig): number[] {
  if (!hasRosa(config)) return [];
  const all = Array.from({ length: config.layers }, (_, l) => l);
  return config.rosa.layers ?? all.filter((l) => !config.globalLayers.includes(l));
}

/** SwiGLU hidden width that keeps the MLP's parameters near 8 · width² (a multiple of 8). */
export function defaultMlpHidden(width: number): number {
  return Math.max(8, Math.round(((8 / 3) * width) / 8) * 8);
}

/** The schema's defaults with `overrides` on top (nested ROSA/LRSA fields merged one by one). */
export function defaultModelConfig(overrides: ModelOverrides = {}): ModelConfig {
  const base = defaultsOf(modelSchema) as ModelConfig;
  const width = overrides.width ?? base.width;
  return {
    ...base,
    mlpHidden: defaultMlpHidden(width),
    ...overrides,
    rosa: { ...DEFAULT_ROSA, ...overrides.rosa },
    lrsa: { ...DEFAULT_LRSA, ...overrides.lrsa },
  } as ModelConfig;
}

/** Key/value heads: kvHeads, or as many as the query heads when it is 0. */
export function kvHeadCount(config: ModelConfig): number {
  return config.kvHeads > 0 ? config.kvHeads : config.heads;
}

/** Channels per attention head: config.headDim, or width / heads when it is 0 or absent. */
export function headDim(config: ModelConfig): number {
  return headDimOf(config);
}

/** Width of the query projection and of the attention output: heads · headDim (= width by default). */
export function attentionWidth(config: ModelConfig): number {
  return config.heads * headDim(config);
}
