// Loading a Hugging Face folder into the playground's model: the Llama family as transformers
// names it. Llama, Mistral (sliding window), Ministral (per-layer attention types), Qwen2 (q/k/v
// biases) and Qwen3 (q/k RMSNorm per head), with grouped-query attention and a tied or untied
// head, plain RoPE, SiLU, any even head_dim (Qwen3-0.6B: 128 at hidden 1024 with 16 heads; a
// head_dim ≠ hidden / heads becomes model.headDim). Everything else fails with an
// HfImportError naming the reason. F16/BF16 weights become f32. An optional ROSA adapter (rosa_adapter.safetensors +
// rosa_adapter_config.json, as exportHuggingFace writes them) makes a window+rosa model.

import { modelRules } from '../config/rules.ts';
import { MAX_SEQ_LEN, modelSchema, ROSA_QK, ROSA_SEMANTICS } from '../config/schema.ts';
import type { FieldError } from '../config/validate.ts';
import { defaultModelConfig, type ModelConfig, type RosaConfig } from '../gpu/model/config.ts';
import { parameterSpecs } from '../gpu/model/params.ts';
import { HfImportError } from './errors.ts';
import { type HfFiles, MODEL_TYPES, ROSA_ADAPTER_FORMAT } from './hf-export.ts';
import { baseNamePairs, HF_EMBEDDING, HF_LM_HEAD, type NamePair, rosaNamePairs } from './hf-names.ts';
import { type FloatTensor, readSafetensors } from './hf-safetensors.ts';

export interface HfImport {
  config: ModelConfig;
  parameters: Map<string, Float32Array>;
  /** The architecture the folder declared. */
  architecture: string;
  /** Token strings by id, from vocab.json when the folder has one. */
  tokens: string[] | null;
}

type Json = Record<string, unknown>;

function text(files: HfFiles, name: string): string | null {
  const f = files[name];
  if (f === undefined) return null;
  return typeof f === 'string' ? f : new TextDecoder().decode(f);
}

function bytes(files: HfFiles, name: string): Uint8Array {
  const f = files[name];
  if (f === undefined) throw new HfImportError('file', `${name} is missing`);
  return typeof f === 'string' ? new TextEncoder().encode(f) : f;
}

function parseJson(source: string, name: string): Json {
  try {
    const value = JSON.parse(source);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Json;
  } catch (err) {
    throw new HfImportError('file', `${name} is not valid JSON (${(err as Error).message})`);
  }
  throw new HfImportError('file', `${name} is not a JSON object`);
}

function wholeNumber(cfg: Json, key: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new HfImportError(
      'config',
      `config.json: ${key} must be a whole number ≥ 1 (got ${JSON.stringify(v)})`,
    );
  return v;
}

function positiveNumber(cfg: Json, key: string, fallback: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0))
    throw new HfImportError('config', `config.json: ${key} must be a number > 0 (got ${JSON.stringify(v)})`);
  return v;
}

/** What the export writes, and so what the import reads. */
const SUPPORTED = Object.values(MODEL_TYPES);
/** Architectures that normalise q and k in another way (over the whole projection, or with other changes). */
const OTHER_QK_NORM_TYPES = ['qwen3_moe', 'olmo2', 'gemma3', 'cohere2'];
/** Per-layer `layer_types` decide which layers use the sliding window. */
const LAYER_TYPED = ['ministral', 'qwen2', 'qwen3'];

function architectureOf(cfg: Json): { architecture: string; modelType: string } {
  const architecture = Array.isArray(cfg.architectures) ? String(cfg.architectures[0]) : '';
  const modelType = typeof cfg.model_type === 'string' ? cfg.model_type : '';
  if (OTHER_QK_NORM_TYPES.includes(modelType)) {
    throw new HfImportError(
      'qk-norm',
      `model_type "${modelType}" normalises q and k other than Qwen3 does (RMSNorm per head before RoPE), or differs otherwise`,
    );
  }
  if (!SUPPORTED.includes(modelType)) {
    throw new HfImportError(
      'architecture',
      `model_type "${modelType || '(none)'}" (${architecture || 'no architectures'}) is not supported; supported: ${SUPPORTED.join(', ')} (…ForCausalLM)`,
    );
  }
  return { architecture: architecture || `${modelType}ForCausalLM`, modelType };
}

function ropeTheta(cfg: Json): number {
  const params = cfg.rope_parameters as Json | null | undefined;
  const scaling = cfg.rope_scaling as Json | null | undefined;
  for (const [where, p] of [
    ['rope_parameters', params],
    ['rope_scaling', scaling],
  ] as const) {
    const type = p?.rope_type ?? p?.type;
    if (p && type !== undefined && type !== 'default') {
      throw new HfImportError(
        'rope',
        `config.json: ${where} asks for "${String(type)}" RoPE; only plain RoPE is supported`,
      );
    }
  }
  const partial = params?.partial_rotary_factor ?? cfg.partial_rotary_factor;
  if (partial !== undefined && partial !== 1)
    throw new HfImportError(
      'rope',
      `config.json: partial_rotary_factor ${String(partial)} (only 1 is supported)`,
    );
  const theta = params?.rope_theta ?? cfg.rope_theta ?? 10000;
  if (typeof theta !== 'number' || !(theta > 0))
    throw new HfImportError(
      'config',
      `config.json: rope_theta must be a number > 0 (got ${JSON.stringify(theta)})`,
    );
  return theta;
}

/** Per layer: true when it attends within a sliding window; and that window. */
function slidingLayers(
  cfg: Json,
  modelType: string,
  layers: number,
): { sliding: boolean[]; window: number | null } {
  const raw = cfg.sliding_window;
  let window = typeof raw === 'number' && raw >= 1 ? raw : null;
  if (raw !== undefined && raw !== null && window === null)
    throw new HfImportError(
      'config',
      `config.json: sliding_window must be null or a whole number ≥ 1 (got ${JSON.stringify(raw)})`,
    );
  if (modelType === 'llama') window = null;
  // Qwen2/Qwen3 keep a sliding_window in their config that applies only with use_sliding_window,
  // and then (without layer_types) to layers from max_window_layers on, as transformers reads it.
  const qwen = modelType === 'qwen2' || modelType === 'qwen3';
  if (qwen && cfg.use_sliding_window !== true) window = null;
  // A window beyond the longest sequence the playground runs is global attention here.
  if (window !== null && window >= MAX_SEQ_LEN) window = null;
  const firstSliding = qwen && typeof cfg.max_window_layers === 'number' ? cfg.max_window_layers : 0;
  let sliding = Array.from({ length: layers }, (_, l) => window !== null && l >= firstSliding);
  if (LAYER_TYPED.includes(modelType) && Array.isArray(cfg.layer_types)) {
    const types = cfg.layer_types as unknown[];
    if (types.length !== layers || !types.every((t) => t === 'full_attention' || t === 'sliding_attention'))
      throw new HfImportError(
        'config',
        'config.json: layer_types must list full_attention or sliding_attention per layer',
      );
    sliding = types.map((t) => t === 'sliding_attention' && window !== null);
  }
  return { sliding, window };
}

function rosaFromAdapterConfig(cfg: Json, width: number): RosaConfig {
  if (cfg.format !== ROSA_ADAPTER_FORMAT)
    throw new HfImportError(
      'file',
      `rosa_adapter_config.json: format "${String(cfg.format)}" is not ${ROSA_ADAPTER_FORMAT}`,
    );
  if (cfg.hidden_size !== width)
    throw new HfImportError(
      'config',
      `rosa_adapter_config.json: hidden_size ${String(cfg.hidden_size)} ≠ the model's ${width}`,
    );
  const semantics = cfg.semantics as RosaConfig['semantics'];
  const qk = cfg.qk as RosaConfig['qk'];
  if (!ROSA_SEMANTICS.includes(semantics))
    throw new HfImportError(
      'config',
      `rosa_adapter_config.json: semantics "${String(semantics)}" is unknown`,
    );
  if (!ROSA_QK.includes(qk))
    throw new HfImportError('config', `rosa_adapter_config.json: qk "${String(qk)}" is unknown`);
  const base = defaultModelConfig().rosa;
  const num = (key: string, fallback: number) =>
    typeof cfg[key] === 'number' ? (cfg[key] as number) : fallback;
  return {
    bits: num('bits_per_route', base.bits),
    semantics,
    qk,
    layers: Array.isArray(cfg.layers) ? (cfg.layers as number[]) : undefined,
    tempQ: num('binary_temp_q', base.tempQ),
    tempK: num('binary_temp_k', base.tempK),
    tempV: num('binary_temp_v', base.tempV),
    vProbContrast: typeof cfg.v_prob_contrast === 'boolean' ? cfg.v_prob_contrast : base.vProbContrast,
    eInit: num('e_init', base.eInit),
    projectionLrScale: num('projection_lr_scale', base.projectionLrScale),
  };
}

function validated(config: ModelConfig): ModelConfig {
  const parsed = modelSchema.safeParse(config);
  const errors: FieldError[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ field: `model.${i.path.join('.')}`, message: i.message }));
  modelRules(config, errors, []);
  if (errors.length > 0)
    throw new HfImportError(
      'config',
      `the model does not fit the playground: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`,
    );
  return config;
}

/** The model configuration a Hugging Face config.json (and adapter config) describes. */
export function importHfConfig(
  cfg: Json,
  rosaCfg: Json | null,
): { config: ModelConfig; architecture: string } {
  const { architecture, modelType } = architectureOf(cfg);
  const width = wholeNumber(cfg, 'hidden_size');
  const heads = wholeNumber(cfg, 'num_attention_heads');
  const layers = wholeNumber(cfg, 'num_hidden_layers');
  const kvHeads = wholeNumber(cfg, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) {
    throw new HfImportError(
      'grouped-query-attention',
      `config.json: num_key_value_heads ${kvHeads} does not divide num_attention_heads ${heads}`,
    );
  }
  // transformers takes head_dim when the config has one, else hidden_size / num_attention_heads.
  const headDim =
    cfg.head_dim === undefined || cfg.head_dim === null ? width / heads : wholeNumber(cfg, 'head_dim');
  if (!Number.isInteger(headDim))
    throw new HfImportError(
      'config',
      `config.json: num_attention_heads ${heads} does not divide hidden_size ${width}, and there is no head_dim`,
    );
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu')
    throw new HfImportError(
      'activation',
      `config.json: hidden_act "${String(act)}" (only silu is supported)`,
    );
  // Qwen2 has q/k/v biases by construction (and ignores attention_bias); Llama's and Qwen3's
  // attention_bias also puts one on o_proj, which this model does not have.
  const attnBias = modelType === 'qwen2';
  for (const key of attnBias ? ['mlp_bias'] : ['attention_bias', 'mlp_bias'])
    if (cfg[key] === true)
      throw new HfImportError(
        'bias',
        `config.json: ${key} is true (only Qwen2's q/k/v biases are supported; o_proj and MLP biases are not)`,
      );
  const { sliding, window } = slidingLayers(cfg, modelType, layers);
  const anySliding = sliding.some((s) => s);
  const fullLayers = sliding.flatMap((s, l) => (s ? [] : [l]));
  const seqLen = Math.min(MAX_SEQ_LEN, Math.max(8, wholeNumber(cfg, 'max_position_embeddings', 2048)));
  const base = defaultModelConfig({
    vocabSize: wholeNumber(cfg, 'vocab_size'),
    seqLen,
    layers,
    width,
    heads,
    mlpHidden: wholeNumber(cfg, 'intermediate_size'),
    ropeBase: ropeTheta(cfg),
    normEps: positiveNumber(cfg, 'rms_norm_eps', 1e-6),
  });
  const windowed = rosaCfg || anySliding;
  const config: ModelConfig = {
    ...base,
    // Set only where it differs, so that an import is the config it was exported from.
    ...(headDim !== width / heads ? { headDim } : {}),
    kvHeads: kvHeads === heads ? 0 : kvHeads,
    qkNorm: modelType === 'qwen3',
    attnBias,
    // transformers ties the head only when told to; an untied head must come with lm_head.weight.
    tiedHead: cfg.tie_word_embeddings === true,
    variant: rosaCfg ? 'window+rosa' : anySliding ? 'window' : 'global',
    window: window ?? base.window,
    globalLayers: windowed ? fullLayers : [],
    rosa: rosaCfg ? rosaFromAdapterConfig(rosaCfg, width) : base.rosa,
  };
  return { config: validated(config), architecture };
}

function weightFileNames(files: HfFiles): string[] {
  const index = text(files, 'model.safetensors.index.json');
  if (index === null) return ['model.safetensors'];
  const map = parseJson(index, 'model.safetensors.index.json').weight_map;
  if (!map || typeof map !== 'object')
    throw new HfImportError('file', 'model.safetensors.index.json has no weight_map');
  return [...new Set(Object.values(map as Record<string, string>))].sort();
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function take(
  tensors: Map<string, FloatTensor>,
  pairs: readonly NamePair[],
  shapes: ReadonlyMap<string, number[]>,
  fileName: string,
  into: Map<string, Float32Array>,
): void {
  for (const { ours, hf } of pairs) {
    const t = tensors.get(hf);
    if (!t) throw new HfImportError('tensor', `${fileName}: tensor "${hf}" is missing`);
    const shape = shapes.get(ours)!;
    if (t.shape.join('x') !== shape.join('x'))
      throw new HfImportError(
        'tensor',
        `${fileName}: tensor "${hf}" has shape [${t.shape}]; the config needs [${shape}]`,
      );
    if (!t.data.every(Number.isFinite))
      throw new HfImportError('tensor', `${fileName}: tensor "${hf}" holds NaN or infinite values`);
    const seen = into.get(ours);
    // A shared ROSA q/k projection is written twice; both copies must agree.
    if (seen && !sameValues(seen, t.data))
      throw new HfImportError(
        'tensor',
        `${fileName}: "${hf}" differs from the projection it shares ("${ours}")`,
      );
    into.set(ours, t.data);
    tensors.delete(hf);
  }
}

function rejectLeftovers(tensors: Map<string, FloatTensor>, fileName: string): void {
  for (const name of tensors.keys()) {
    if (name.endsWith('.bias'))
      throw new HfImportError('bias', `${fileName}: "${name}" is a bias (not supported)`);
    if (/\.(q_norm|k_norm)\./.test(name))
      throw new HfImportError('qk-norm', `${fileName}: "${name}" is a q/k norm (not supported)`);
    if (name.endsWith('rotary_emb.inv_freq')) continue;
    throw new HfImportError('tensor', `${fileName}: unexpected tensor "${name}"`);
  }
}

/** A Hugging Face folder (file name → contents) as the playground's config and parameters. */
export function importHuggingFace(files: HfFiles): HfImport {
  const configText = text(files, 'config.json');
  if (configText === null) throw new HfImportError('file', 'config.json is missing');
  const cfg = parseJson(configText, 'config.json');
  const rosaText = text(files, 'rosa_adapter_config.json');
  const rosaCfg = rosaText === null ? null : parseJson(rosaText, 'rosa_adapter_config.json');
  const { config, architecture } = importHfConfig(cfg, rosaCfg);
  const shapes = new Map(parameterSpecs(config).map((s) => [s.name, s.shape]));

  const tensors = new Map<string, FloatTensor>();
  for (const name of weightFileNames(files)) {
    for (const [k, t] of readSafetensors(bytes(files, name), name).tensors) tensors.set(k, t);
  }
  const head = tensors.get(HF_LM_HEAD);
  const embedding = tensors.get(HF_EMBEDDING);
  if (config.tiedHead && head) {
    // A saved head is fine when it is the embedding itself (tied weights written twice);
    // otherwise the folder contradicts its own tie_word_embeddings.
    if (!embedding || !sameValues(head.data, embedding.data))
      throw new HfImportError(
        'untied-head',
        'lm_head.weight differs from the embedding, but tie_word_embeddings is true',
      );
    tensors.delete(HF_LM_HEAD);
  } else if (!config.tiedHead && !head) {
    // transformers would start such a head at random.
    throw new HfImportError(
      'untied-head',
      'config.json: tie_word_embeddings is not true and there is no lm_head.weight',
    );
  }
  const parameters = new Map<string, Float32Array>();
  take(tensors, baseNamePairs(config), shapes, 'model.safetensors', parameters);
  rejectLeftovers(tensors, 'model.safetensors');
  if (rosaCfg) {
    const adapter = readSafetensors(
      bytes(files, 'rosa_adapter.safetensors'),
      'rosa_adapter.safetensors',
    ).tensors;
    take(adapter, rosaNamePairs(config), shapes, 'rosa_adapter.safetensors', parameters);
    rejectLeftovers(adapter, 'rosa_adapter.safetensors');
  }

  const vocabText = text(files, 'vocab.json');
  let tokens: string[] | null = null;
  if (vocabText !== null) {
    const vocab = parseJson(vocabText, 'vocab.json') as Record<string, number>;
    tokens = new Array<string>(config.vocabSize).fill('');
    for (const [token, id] of Object.entries(vocab)) if (id >= 0 && id < config.vocabSize) tokens[id] = token;
  }
  return { config, parameters, architecture, tokens };
}
