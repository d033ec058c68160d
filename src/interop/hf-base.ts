// A Hugging Face model as the base of a preset (`--base hf:<dir>`): every variant takes the
// imported model's shape (width, layers, heads, key/value heads, MLP width, RoPE θ, RMSNorm ε,
// tied head, q/k/v biases, q/k norm) and the imported weights are where the protocol starts, so
// the variants trained from scratch become the imported model evaluated under their attention.
// The preset's own attention settings (window, global layers, ROSA, LRSA) still decide each row.

import type { ModelConfig } from '../gpu/model/config.ts';
import type { PresetRun } from '../gpu/train/preset.ts';

/** The source name that stands for the imported model in `from`. */
export const HF_BASE_PREFIX = 'hf:';

/** The settings of a model config that fix the base weights' shapes and maths. */
export type BaseShape = Pick<
  ModelConfig,
  | 'layers'
  | 'width'
  | 'heads'
  | 'kvHeads'
  | 'mlpHidden'
  | 'ropeBase'
  | 'normEps'
  | 'tiedHead'
  | 'attnBias'
  | 'qkNorm'
  | 'headDim'
>;

export function hfBaseSettings(config: ModelConfig): BaseShape {
  return {
    layers: config.layers,
    width: config.width,
    heads: config.heads,
    kvHeads: config.kvHeads,
    mlpHidden: config.mlpHidden,
    ropeBase: config.ropeBase,
    normEps: config.normEps,
    tiedHead: config.tiedHead,
    attnBias: config.attnBias,
    qkNorm: config.qkNorm,
    // Only where set: an absent headDim means width / heads.
    ...(config.headDim ? { headDim: config.headDim } : {}),
  };
}

/**
 * The runs of a preset on an imported base: a variant that would train from scratch is instead
 * the base evaluated under its attention (ROSA-Tuning's "pretrained global" row), under the same
 * name so that the variants starting from it start from the imported weights.
 */
export function runsOnHfBase(runs: readonly PresetRun[], source: string): PresetRun[] {
  return runs.map((run) =>
    run.from || run.evalOnly ? run : { ...run, from: { checkpoint: source }, evalOnly: true },
  );
}

/** One line describing an imported model, for progress output. */
export function describeBase(architecture: string, config: ModelConfig, parameterCount: number): string {
  const kv = config.kvHeads > 0 ? `, ${config.kvHeads} key/value heads` : '';
  const extras = [
    config.tiedHead ? 'tied head' : 'untied head',
    config.attnBias ? 'q/k/v biases' : '',
    config.qkNorm ? 'q/k norm' : '',
  ].filter((s) => s !== '');
  return (
    `${architecture}: ${config.layers} layers, width ${config.width}, ${config.heads} heads${kv}, ` +
    `MLP ${config.mlpHidden}, vocabulary ${config.vocabSize}, RoPE θ ${config.ropeBase}, ${extras.join(', ')}; ` +
    `${(parameterCount / 1e6).toFixed(parameterCount < 1e5 ? 3 : 1)} M parameters`
  );
}
