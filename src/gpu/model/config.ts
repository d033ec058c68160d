// Model and training configuration, and the validation that turns a bad value into a
// message naming the field and its limit (shown next to the field in the UI).

export type Variant = 'global' | 'window' | 'window+rosa' | 'lrsa' | 'lrsa+rosa';
export const VARIANTS: Variant[] = ['global', 'window', 'window+rosa', 'lrsa', 'lrsa+rosa'];
export type RosaSemantics = 'rosa-tuning' | 'exact' | 'rwkv8';
export const ROSA_SEMANTICS: RosaSemantics[] = ['rosa-tuning', 'exact', 'rwkv8'];

export interface RosaConfig {
  /** Bits per route M (alphabet 2^M, routes R = width / M). */
  bits: number;
  semantics: RosaSemantics;
  /** Layers with a ROSA adapter; default: every layer that is not global. */
  layers?: number[];
  /** Sigmoid temperatures of the counterfactual surrogate. */
  tempQ: number;
  tempK: number;
  tempV: number;
  /** Use σ(T_V·v) (true) or hard bits (false) as the V field in the Q/K contrasts. */
  vProbContrast: boolean;
  /**
   * Initial e1 = +eInit and e0 = −eInit on every channel (default 0: the paper's e0 = e1 = 0,
   * an injection that starts at exactly 0 and gives q/k/v no gradient until e1 ≠ e0). A small
   * value starts the injection as a ±eInit sign code of the retrieved v bits, as in BlinkDL's
   * (2·bit − 1)·e mapping, so a model trained from scratch has something to decode at once.
   */
  eInit?: number;
  /**
   * Learning rate of Wq, Wk, Wv relative to the adapter's rate (default 1; 0 freezes them, so
   * retrieval keeps its initial hashing and only what is done with the retrieved bits learns).
   */
  projectionLrScale?: number;
  /**
   * How the q and k projections relate. 'independent': Wq and Wk, each Xavier (the paper).
   * 'tied-init': Wk starts as a copy of Wq, then both train on their own. 'shared': one matrix
   * for both, so q and k symbols always coincide and every retrieval is BlinkDL's rosa(x), a
   * suffix match of the stream against its own past (with 'rwkv8' semantics); both
   * counterfactual gradients then train that one matrix. A model trained from scratch finds
   * retrievals worth learning from at once with the last two.
   */
  qk?: 'independent' | 'tied-init' | 'shared';
}

export interface LrsaConfig {
  sink: number;
  chunk: number;
  ratio: number;
  scoreVRatio: number;
}

export interface ModelConfig {
  vocabSize: number;
  seqLen: number;
  layers: number;
  width: number;
  heads: number;
  /** Hidden width of the SwiGLU MLP. */
  mlpHidden: number;
  /** Attention window W (keys t−W+1 … t). */
  window: number;
  /** Layers that keep global attention whatever the variant (the paper keeps layer 0 global). */
  globalLayers: number[];
  variant: Variant;
  ropeBase: number;
  normEps: number;
  rosa: RosaConfig;
  lrsa: LrsaConfig;
}

export type AttentionKind = 'global' | 'window' | 'lrsa';

export function attentionKind(config: ModelConfig, layer: number): AttentionKind {
  if (config.globalLayers.includes(layer) || config.variant === 'global') return 'global';
  if (config.variant === 'lrsa' || config.variant === 'lrsa+rosa') return 'lrsa';
  return 'window';
}

export function hasRosa(config: ModelConfig): boolean {
  return config.variant === 'window+rosa' || config.variant === 'lrsa+rosa';
}

export function rosaLayers(config: ModelConfig): number[] {
  if (!hasRosa(config)) return [];
  const all = Array.from({ length: config.layers }, (_, l) => l);
  return config.rosa.layers ?? all.filter((l) => !config.globalLayers.includes(l));
}

export const DEFAULT_ROSA: RosaConfig = {
  bits: 4,
  semantics: 'rosa-tuning',
  tempQ: 1,
  tempK: 1,
  tempV: 1,
  vProbContrast: true,
  eInit: 0,
  projectionLrScale: 1,
};

export const DEFAULT_LRSA: LrsaConfig = { sink: 4, chunk: 32, ratio: 0.25, scoreVRatio: 1 };

export function defaultModelConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  const width = overrides.width ?? 64;
  return {
    vocabSize: 97,
    seqLen: 256,
    layers: 2,
    width,
    heads: 2,
    mlpHidden: Math.max(8, Math.round(((8 / 3) * width) / 8) * 8),
    window: 32,
    globalLayers: [],
    variant: 'window+rosa',
    ropeBase: 10000,
    normEps: 1e-6,
    ...overrides,
    rosa: { ...DEFAULT_ROSA, ...overrides.rosa },
    lrsa: { ...DEFAULT_LRSA, ...overrides.lrsa },
  };
}

export interface FieldError {
  field: string;
  message: string;
}

/** Device limits that bound the model size (from GpuContext.limits); absent on the CPU backend. */
export interface SizeLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

function int(errors: FieldError[], field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    errors.push({ field, message: `must be a whole number from ${min} to ${max} (got ${String(value)})` });
  }
}

function num(
  errors: FieldError[],
  field: string,
  value: unknown,
  min: number,
  max: number,
  open = false,
): void {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (open && value === min)
  ) {
    errors.push({
      field,
      message: `must be a number ${open ? '>' : '≥'} ${min} and ≤ ${max} (got ${String(value)})`,
    });
  }
}

/** Largest tensor (in f32 elements) a training step allocates, for the buffer-limit check. */
export function largestTensorElements(config: ModelConfig, batch: number): number {
  const N = batch * config.seqLen;
  return Math.max(
    N * config.vocabSize,
    N * config.mlpHidden,
    N * config.width,
    config.vocabSize * config.width,
  );
}

export function validateModelConfig(config: ModelConfig, batch = 1, limits?: SizeLimits): FieldError[] {
  const e: FieldError[] = [];
  int(e, 'vocabSize', config.vocabSize, 2, 65536);
  int(e, 'seqLen', config.seqLen, 2, 65536);
  int(e, 'layers', config.layers, 1, 64);
  int(e, 'width', config.width, 4, 4096);
  int(e, 'heads', config.heads, 1, 64);
  int(e, 'mlpHidden', config.mlpHidden, 1, 16384);
  int(e, 'window', config.window, 1, 65536);
  num(e, 'ropeBase', config.ropeBase, 1, 1e9);
  num(e, 'normEps', config.normEps, 0, 1, true);
  if (!VARIANTS.includes(config.variant))
    e.push({ field: 'variant', message: `must be one of ${VARIANTS.join(', ')}` });
  if (Number.isInteger(config.width) && Number.isInteger(config.heads) && config.heads > 0) {
    if (config.width % config.heads !== 0) {
      e.push({ field: 'heads', message: `must divide width ${config.width} (got ${config.heads})` });
    } else if ((config.width / config.heads) % 2 !== 0) {
      e.push({
        field: 'heads',
        message: `width / heads must be even for RoPE (got ${config.width / config.heads})`,
      });
    } else if (config.width / config.heads > 128) {
      e.push({
        field: 'heads',
        message: `head size width / heads must be ≤ 128 (got ${config.width / config.heads})`,
      });
    }
  }
  for (const l of config.globalLayers) int(e, 'globalLayers', l, 0, config.layers - 1);
  const rosa = config.rosa;
  if (hasRosa(config)) {
    int(e, 'rosa.bits', rosa.bits, 1, 8);
    if (Number.isInteger(rosa.bits) && config.width % rosa.bits !== 0) {
      e.push({ field: 'rosa.bits', message: `must divide width ${config.width} (got ${rosa.bits})` });
    }
    if (!ROSA_SEMANTICS.includes(rosa.semantics)) {
      e.push({ field: 'rosa.semantics', message: `must be one of ${ROSA_SEMANTICS.join(', ')}` });
    }
    num(e, 'rosa.tempQ', rosa.tempQ, 0, 1000, true);
    num(e, 'rosa.tempK', rosa.tempK, 0, 1000, true);
    num(e, 'rosa.tempV', rosa.tempV, 0, 1000, true);
    if (rosa.eInit !== undefined) num(e, 'rosa.eInit', rosa.eInit, 0, 10);
    if (rosa.projectionLrScale !== undefined)
      num(e, 'rosa.projectionLrScale', rosa.projectionLrScale, 0, 100);
    for (const l of rosa.layers ?? []) int(e, 'rosa.layers', l, 0, config.layers - 1);
  }
  if (config.variant === 'lrsa' || config.variant === 'lrsa+rosa') {
    int(e, 'lrsa.sink', config.lrsa.sink, 0, 1024);
    int(e, 'lrsa.chunk', config.lrsa.chunk, 2, 4096);
    num(e, 'lrsa.ratio', config.lrsa.ratio, 0, 1, true);
    num(e, 'lrsa.scoreVRatio', config.lrsa.scoreVRatio, 0, 100);
    if (Number.isInteger(config.lrsa.chunk) && Math.floor(config.lrsa.ratio * config.lrsa.chunk) < 1) {
      e.push({
        field: 'lrsa.ratio',
        message: `keeps no token of a ${config.lrsa.chunk}-token chunk; raise it`,
      });
    }
  }
  if (limits && e.length === 0) {
    const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const bytes = largestTensorElements(config, batch) * 4;
    if (bytes > limit) {
      const maxSeq = Math.floor(
        limit / 4 / batch / Math.max(config.vocabSize, config.mlpHidden, config.width),
      );
      e.push({
        field: 'seqLen',
        message:
          `needs a ${(bytes / 2 ** 20).toFixed(0)} MiB buffer but this device allows ${(limit / 2 ** 20).toFixed(0)} MiB ` +
          `per storage buffer; with batch ${batch} the longest sequence that fits is ${maxSeq}`,
      });
    }
  }
  return e;
}
