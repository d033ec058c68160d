// Tensor names on the Hugging Face side: the decoder under Llama's names (Mistral and
// Ministral use the same ones), the ROSA adapter under the reference implementation's
// (ROSA-Tuning 2025.12.29 `save_rosa_only`: modules hung on each Qwen3 decoder layer).
// docs/interop.md has the table.

import type { ModelConfig } from '../gpu/model/config.ts';
import {
  EMBEDDING,
  FINAL_NORM,
  type LayerParamNames,
  LM_HEAD,
  layerParamNames,
} from '../gpu/model/params.ts';

export const HF_EMBEDDING = 'model.embed_tokens.weight';
export const HF_FINAL_NORM = 'model.norm.weight';
export const HF_LM_HEAD = 'lm_head.weight';

type BaseLayerKey = Exclude<keyof LayerParamNames, 'rosa' | 'qkNorm' | 'bias'>;
type RosaKey = keyof NonNullable<LayerParamNames['rosa']>;

/** Our per-layer parameter → its name under `model.layers.N.` in a Llama folder. */
export const HF_LAYER_NAMES: Record<BaseLayerKey, string> = {
  attnNorm: 'input_layernorm.weight',
  wq: 'self_attn.q_proj.weight',
  wk: 'self_attn.k_proj.weight',
  wv: 'self_attn.v_proj.weight',
  wo: 'self_attn.o_proj.weight',
  mlpNorm: 'post_attention_layernorm.weight',
  w1: 'mlp.gate_proj.weight',
  w3: 'mlp.up_proj.weight',
  w2: 'mlp.down_proj.weight',
};

/** Qwen3's q/k norms and Qwen2's q/k/v biases, under `model.layers.N.`. */
export const HF_QK_NORM_NAMES = { q: 'self_attn.q_norm.weight', k: 'self_attn.k_norm.weight' } as const;
export const HF_BIAS_NAMES = {
  q: 'self_attn.q_proj.bias',
  k: 'self_attn.k_proj.bias',
  v: 'self_attn.v_proj.bias',
} as const;

/** Our ROSA adapter parameter → its name under `model.layers.N.` in the reference code. */
export const HF_ROSA_NAMES: Record<RosaKey, string> = {
  wq: 'rosa_q_proj.weight',
  wk: 'rosa_k_proj.weight',
  wv: 'rosa_v_proj.weight',
  wout: 'rosa_out.weight',
  e0: 'rosa_e0',
  e1: 'rosa_e1',
};

export interface NamePair {
  ours: string;
  hf: string;
}

/** Every base parameter of `config` with its Hugging Face name (lm_head only when the head is untied). */
export function baseNamePairs(config: ModelConfig): NamePair[] {
  const pairs: NamePair[] = [{ ours: EMBEDDING, hf: HF_EMBEDDING }];
  for (let l = 0; l < config.layers; l++) {
    const names = layerParamNames(config, l);
    for (const key of Object.keys(HF_LAYER_NAMES) as BaseLayerKey[]) {
      pairs.push({ ours: names[key], hf: `model.layers.${l}.${HF_LAYER_NAMES[key]}` });
    }
    const at = `model.layers.${l}`;
    if (names.qkNorm) {
      pairs.push({ ours: names.qkNorm.q, hf: `${at}.${HF_QK_NORM_NAMES.q}` });
      pairs.push({ ours: names.qkNorm.k, hf: `${at}.${HF_QK_NORM_NAMES.k}` });
    }
    if (names.bias) {
      for (const key of ['q', 'k', 'v'] as const)
        pairs.push({ ours: names.bias[key], hf: `${at}.${HF_BIAS_NAMES[key]}` });
    }
  }
  pairs.push({ ours: FINAL_NORM, hf: HF_FINAL_NORM });
  if (!config.tiedHead) pairs.push({ ours: LM_HEAD, hf: HF_LM_HEAD });
  return pairs;
}

/**
 * Every ROSA adapter tensor of `config` with its reference name. With a shared q/k projection
 * our one parameter appears twice (as rosa_q_proj and rosa_k_proj), as the reference has both.
 */
export function rosaNamePairs(config: ModelConfig): NamePair[] {
  const pairs: NamePair[] = [];
  for (let l = 0; l < config.layers; l++) {
    const names = layerParamNames(config, l).rosa;
    if (!names) continue;
    for (const key of Object.keys(HF_ROSA_NAMES) as RosaKey[]) {
      pairs.push({ ours: names[key], hf: `model.layers.${l}.${HF_ROSA_NAMES[key]}` });
    }
  }
  return pairs;
}
