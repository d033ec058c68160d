// A playground model as a Hugging Face folder: config.json + model.safetensors (f32) that
// transformers loads as LlamaForCausalLM (every layer global), MistralForCausalLM (every layer
// windowed: `sliding_window` = W, which transformers applies as keys t−W+1 … t, the same rule
// as ours) or MinistralForCausalLM (windowed with some global layers: `layer_types`); a model
// with q/k norm as Qwen3ForCausalLM, one with q/k/v biases as Qwen2ForCausalLM. The
// maths are the same as Llama's: RMSNorm x·rsqrt(mean x² + ε)·w, rotate-half RoPE, scores
// scaled by 1/√D, SwiGLU down(silu(gate x) ⊙ up x), tied head; our matrices are already
// [out, in] like torch.nn.Linear and our RoPE pairs channel i with i + D/2 like HF's, so
// tensors are copied as they are. The ROSA adapter, when present, goes to its own file.
// Pure: bytes and strings in memory, for the command line and the browser alike.

import {
  attentionKind,
  hasRosa,
  headDim,
  kvHeadCount,
  type ModelConfig,
  rosaLayers,
} from '../gpu/model/config.ts';
import { parameterSpecs } from '../gpu/model/params.ts';
import { HfExportError } from './errors.ts';
import { baseNamePairs, type NamePair, rosaNamePairs } from './hf-names.ts';
import { writeSafetensors } from './hf-safetensors.ts';
import { tokenizerFiles } from './hf-tokenizer.ts';

export const ROSA_ADAPTER_FORMAT = 'rosa-playground-rosa-adapter';
export const ROSA_ADAPTER_VERSION = 1;
export const EXPORTER = 'rosa-playground';

export type HfArchitecture =
  | 'LlamaForCausalLM'
  | 'MistralForCausalLM'
  | 'MinistralForCausalLM'
  | 'Qwen2ForCausalLM'
  | 'Qwen3ForCausalLM';
export type HfLayerType = 'full_attention' | 'sliding_attention';

export const MODEL_TYPES: Record<HfArchitecture, string> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  MinistralForCausalLM: 'ministral',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
};

function isQwen(architecture: HfArchitecture): boolean {
  return architecture === 'Qwen2ForCausalLM' || architecture === 'Qwen3ForCausalLM';
}

export interface HfAttentionLayout {
  architecture: HfArchitecture;
  layerTypes: HfLayerType[];
  /** W of the windowed layers; null when every layer is global. */
  slidingWindow: number | null;
}

/** Which Hugging Face architecture reproduces the model's attention, layer by layer. */
export function hfAttentionLayout(config: ModelConfig): HfAttentionLayout {
  const layerTypes = Array.from({ length: config.layers }, (_, l): HfLayerType => {
    const kind = attentionKind(config, l);
    if (kind === 'lrsa') {
      throw new HfExportError(
        'attention',
        `layer ${l} uses LRSA (LagKV chunk selection), which no Hugging Face architecture implements; export a global or window variant`,
      );
    }
    return kind === 'window' ? 'sliding_attention' : 'full_attention';
  });
  const windowed = layerTypes.filter((t) => t === 'sliding_attention').length;
  const slidingWindow = windowed === 0 ? null : config.window;
  // Qwen2 and Qwen3 take per-layer attention types themselves.
  if (config.qkNorm && config.attnBias)
    throw new HfExportError(
      'config',
      'q/k norm together with q/k/v biases exists in no Hugging Face architecture (Qwen3 has the first, Qwen2 the second)',
    );
  if (config.qkNorm) return { architecture: 'Qwen3ForCausalLM', layerTypes, slidingWindow };
  if (config.attnBias) return { architecture: 'Qwen2ForCausalLM', layerTypes, slidingWindow };
  if (windowed === 0) return { architecture: 'LlamaForCausalLM', layerTypes, slidingWindow: null };
  return {
    architecture: windowed === config.layers ? 'MistralForCausalLM' : 'MinistralForCausalLM',
    layerTypes,
    slidingWindow: config.window,
  };
}

export interface HfExportInput {
  config: ModelConfig;
  parameters: ReadonlyMap<string, Float32Array>;
  /** Display string of each token id (the task's vocabulary); no tokenizer files without it. */
  tokens?: readonly string[];
  /** A base model's tokenizer.json the run spoke (task.tokenizer 'base'): written as it is, instead of `tokens`. */
  tokenizerJson?: string;
  /** Where the weights came from, recorded in config.json. */
  source?: { run?: string; step?: number };
}

/** File name → contents (text for JSON, bytes for safetensors). */
export type HfFiles = Record<string, string | Uint8Array>;

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function collect(
  pairs: readonly NamePair[],
  parameters: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, number[]>,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const { ours, hf } of pairs) {
    const data = parameters.get(ours);
    const shape = shapes.get(ours)!;
    const count = shape.reduce((a, b) => a * b, 1);
    if (!data) throw new HfExportError('tensor', `parameter "${ours}" is missing`);
    if (data.length !== count)
      throw new HfExportError(
        'tensor',
        `parameter "${ours}" has ${data.length} values; [${shape}] needs ${count}`,
      );
    out.set(hf, { shape, data });
  }
  return out;
}

/** config.json of the base model. */
export function hfConfig(config: ModelConfig, source: HfExportInput['source'] = {}): Record<string, unknown> {
  const layout = hfAttentionLayout(config);
  const out: Record<string, unknown> = {
    architectures: [layout.architecture],
    model_type: MODEL_TYPES[layout.architecture],
    vocab_size: config.vocabSize,
    hidden_size: config.width,
    intermediate_size: config.mlpHidden,
    num_hidden_layers: config.layers,
    num_attention_heads: config.heads,
    num_key_value_heads: kvHeadCount(config),
    // Always written: with model.headDim it differs from hidden_size / num_attention_heads.
    head_dim: headDim(config),
    hidden_act: 'silu',
    max_position_embeddings: config.seqLen,
    rms_norm_eps: config.normEps,
    // rope_theta for transformers 4.x, rope_parameters for 5.x.
    rope_theta: config.ropeBase,
    rope_parameters: { rope_type: 'default', rope_theta: config.ropeBase },
    // Qwen2's q/k/v biases come with the architecture; elsewhere attention_bias would add o_proj's too.
    ...(layout.architecture === 'Qwen2ForCausalLM' ? {} : { attention_bias: false }),
    attention_dropout: 0,
    mlp_bias: false,
    tie_word_embeddings: config.tiedHead,
    torch_dtype: 'float32',
    dtype: 'float32',
    initializer_range: 0.02,
    use_cache: true,
    bos_token_id: null,
    eos_token_id: null,
    pad_token_id: null,
  };
  if (layout.slidingWindow !== null) out.sliding_window = layout.slidingWindow;
  if (layout.architecture === 'MinistralForCausalLM') out.layer_types = layout.layerTypes;
  if (isQwen(layout.architecture)) {
    // transformers 5 reads layer_types; 4.x slides from max_window_layers on.
    const first = layout.layerTypes.indexOf('sliding_attention');
    out.use_sliding_window = layout.slidingWindow !== null;
    out.sliding_window = layout.slidingWindow;
    out.max_window_layers = first < 0 ? config.layers : first;
    out.layer_types = layout.layerTypes;
  }
  out.rosa_playground = {
    exporter: EXPORTER,
    variant: config.variant,
    window: config.window,
    global_layers: config.globalLayers,
    rosa_adapter: hasRosa(config) ? 'rosa_adapter.safetensors' : null,
    ...(source.run !== undefined ? { run: source.run } : {}),
    ...(source.step !== undefined ? { step: source.step } : {}),
  };
  return out;
}

/** rosa_adapter_config.json: everything a PyTorch port needs to run the adapter as trained. */
export function rosaAdapterConfig(config: ModelConfig): Record<string, unknown> {
  const r = config.rosa;
  return {
    format: ROSA_ADAPTER_FORMAT,
    version: ROSA_ADAPTER_VERSION,
    reference: 'ROSA-Tuning (zyaaa-ux/ROSA-Tuning, 2025.12.29 qkv_update.py), inject mode post_attn',
    inject_mode: 'post_attn',
    hidden_size: config.width,
    layers: rosaLayers(config),
    bits_per_route: r.bits,
    routes: config.width / r.bits,
    semantics: r.semantics,
    qk: r.qk,
    binary_temp_q: r.tempQ,
    binary_temp_k: r.tempK,
    binary_temp_v: r.tempV,
    v_prob_contrast: r.vProbContrast,
    e_init: r.eInit,
    projection_lr_scale: r.projectionLrScale,
    forward: [
      'u = input_layernorm(h)  (the attention input)',
      'q, k, v = rosa_q_proj(u), rosa_k_proj(u), rosa_v_proj(u)',
      'bit = 1[x > 0]; route r packs channels r*bits_per_route + j as bit j (least significant first)',
      'dest[t, r] = the position retrieved by the suffix-automaton scan of the q symbols against the k symbols (semantics), -1 when none',
      'y[t, c] = 1[dest >= 0] * (rosa_e0[c] + (rosa_e1[c] - rosa_e0[c]) * bit(v[dest, c]))',
      'h = h + self_attn(u) + rosa_out(y); then the MLP block',
    ],
  };
}

/** The Hugging Face folder's files. */
export function exportHuggingFace(input: HfExportInput): HfFiles {
  const { config, parameters } = input;
  const D = headDim(config);
  if (!Number.isInteger(D) || D % 2 !== 0)
    throw new HfExportError(
      'config',
      `head size ${D} (width ${config.width} / heads ${config.heads}, or model.headDim) is not a whole even number`,
    );
  if (config.vocabSize < 1) throw new HfExportError('config', 'the vocabulary is empty');
  const shapes = new Map(parameterSpecs(config).map((s) => [s.name, s.shape]));
  const files: HfFiles = {
    'config.json': json(hfConfig(config, input.source)),
    'generation_config.json': json({ do_sample: false }),
    'model.safetensors': writeSafetensors(collect(baseNamePairs(config), parameters, shapes)),
  };
  if (hasRosa(config)) {
    files['rosa_adapter.safetensors'] = writeSafetensors(collect(rosaNamePairs(config), parameters, shapes));
    files['rosa_adapter_config.json'] = json(rosaAdapterConfig(config));
  }
  if (input.tokenizerJson !== undefined) {
    files['tokenizer.json'] = input.tokenizerJson;
  } else if (input.tokens) {
    if (input.tokens.length !== config.vocabSize) {
      throw new HfExportError(
        'vocabulary',
        `the vocabulary has ${input.tokens.length} tokens but the model ${config.vocabSize}`,
      );
    }
    Object.assign(files, tokenizerFiles(input.tokens, config.seqLen));
  }
  return files;
}
