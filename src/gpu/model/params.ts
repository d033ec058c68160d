// The model's parameters: names, shapes, groups and seeded initialisation.
// Names are stable: checkpoints store tensors under them.

import { rng } from '../../common/random.ts';
import { attentionWidth, headDim, kvHeadCount, type ModelConfig, rosaLayers } from './config.ts';

/**
 * 'base' is the decoder itself; 'rosa' the adapter's W_out, e0, e1 and 'rosa-projection' its
 * Wq, Wk, Wv (trained by the counterfactual surrogate), at the adapter's rate times
 * rosa.projectionLrScale.
 */
export type ParamGroup = 'base' | 'rosa' | 'rosa-projection';

export interface ParamSpec {
  name: string;
  shape: number[];
  group: ParamGroup;
  /** Decoupled weight decay applies (matrices; not norms, not e0/e1). */
  decay: boolean;
  init:
    | { kind: 'normal'; std: number }
    | { kind: 'xavier'; fanIn: number; fanOut: number }
    | { kind: 'ones' }
    | { kind: 'zeros' }
    | { kind: 'constant'; value: number }
    | { kind: 'identity' };
}

export interface LayerParamNames {
  attnNorm: string;
  wq: string;
  wk: string;
  wv: string;
  wo: string;
  mlpNorm: string;
  w1: string;
  w3: string;
  w2: string;
  /** q/k RMSNorm weights per head channel [D] (Qwen3), when config.qkNorm. */
  qkNorm: null | { q: string; k: string };
  /** q/k/v projection biases (Qwen2), when config.attnBias. */
  bias: null | { q: string; k: string; v: string };
  rosa: null | { wq: string; wk: string; wv: string; wout: string; e0: string; e1: string };
}

export function layerParamNames(config: ModelConfig, l: number): LayerParamNames {
  const p = `layers.${l}`;
  const withRosa = rosaLayers(config).includes(l);
  return {
    attnNorm: `${p}.attn_norm`,
    wq: `${p}.attn.wq`,
    wk: `${p}.attn.wk`,
    wv: `${p}.attn.wv`,
    wo: `${p}.attn.wo`,
    mlpNorm: `${p}.mlp_norm`,
    w1: `${p}.mlp.w1`,
    w3: `${p}.mlp.w3`,
    w2: `${p}.mlp.w2`,
    qkNorm: config.qkNorm ? { q: `${p}.attn.q_norm`, k: `${p}.attn.k_norm` } : null,
    bias: config.attnBias ? { q: `${p}.attn.bq`, k: `${p}.attn.bk`, v: `${p}.attn.bv` } : null,
    rosa: withRosa
      ? {
          wq: `${p}.rosa.wq`,
          // A shared projection is one parameter under one name.
          wk: config.rosa.qk === 'shared' ? `${p}.rosa.wq` : `${p}.rosa.wk`,
          wv: `${p}.rosa.wv`,
          wout: `${p}.rosa.wout`,
          e0: `${p}.rosa.e0`,
          e1: `${p}.rosa.e1`,
        }
      : null,
  };
}

export const EMBEDDING = 'embed';
export const FINAL_NORM = 'final_norm';
/** The output head when it is not tied to the embedding (config.tiedHead false). */
export const LM_HEAD = 'lm_head';

export function parameterSpecs(config: ModelConfig): ParamSpec[] {
  const { vocabSize: V, width: C, mlpHidden: F, layers: L } = config;
  const std = 0.02;
  // GPT-2's scaled init of the projections that write into the residual stream.
  const outStd = std / Math.sqrt(2 * L);
  // q projects to heads · D channels (= C unless model.headDim is set), k and v to kvHeads · D
  // (grouped-query attention); Wo maps the heads · D attention output back to C.
  const D = headDim(config);
  const A = attentionWidth(config);
  const kvDim = kvHeadCount(config) * D;
  const specs: ParamSpec[] = [
    { name: EMBEDDING, shape: [V, C], group: 'base', decay: true, init: { kind: 'normal', std } },
  ];
  for (let l = 0; l < L; l++) {
    const n = layerParamNames(config, l);
    specs.push(
      { name: n.attnNorm, shape: [C], group: 'base', decay: false, init: { kind: 'ones' } },
      { name: n.wq, shape: [A, C], group: 'base', decay: true, init: { kind: 'normal', std } },
      { name: n.wk, shape: [kvDim, C], group: 'base', decay: true, init: { kind: 'normal', std } },
      { name: n.wv, shape: [kvDim, C], group: 'base', decay: true, init: { kind: 'normal', std } },
      { name: n.wo, shape: [C, A], group: 'base', decay: true, init: { kind: 'normal', std: outStd } },
      { name: n.mlpNorm, shape: [C], group: 'base', decay: false, init: { kind: 'ones' } },
      { name: n.w1, shape: [F, C], group: 'base', decay: true, init: { kind: 'normal', std } },
      { name: n.w3, shape: [F, C], group: 'base', decay: true, init: { kind: 'normal', std } },
      { name: n.w2, shape: [C, F], group: 'base', decay: true, init: { kind: 'normal', std: outStd } },
    );
    // Appended after the layer's other parameters, so a model without them is seeded as before.
    if (n.qkNorm) {
      specs.push(
        { name: n.qkNorm.q, shape: [D], group: 'base', decay: false, init: { kind: 'ones' } },
        { name: n.qkNorm.k, shape: [D], group: 'base', decay: false, init: { kind: 'ones' } },
      );
    }
    if (n.bias) {
      specs.push(
        { name: n.bias.q, shape: [A], group: 'base', decay: false, init: { kind: 'zeros' } },
        { name: n.bias.k, shape: [kvDim], group: 'base', decay: false, init: { kind: 'zeros' } },
        { name: n.bias.v, shape: [kvDim], group: 'base', decay: false, init: { kind: 'zeros' } },
      );
    }
    if (n.rosa) {
      const eInit = config.rosa.eInit ?? 0;
      // The paper's adapter: Xavier q/k/v, e0 = e1 = 0 (the injection starts at exactly 0), W_out = I.
      // It reads its own projections of the attention input u (C → C), not the attention's q/k/v:
      // its routes and bits stay over the width C whatever model.headDim is.
      const xavier = { kind: 'xavier' as const, fanIn: C, fanOut: C };
      specs.push(
        { name: n.rosa.wq, shape: [C, C], group: 'rosa-projection', decay: true, init: xavier },
        ...(n.rosa.wk === n.rosa.wq
          ? []
          : [
              {
                name: n.rosa.wk,
                shape: [C, C],
                group: 'rosa-projection' as const,
                decay: true,
                init: xavier,
              },
            ]),
        { name: n.rosa.wv, shape: [C, C], group: 'rosa-projection', decay: true, init: xavier },
        { name: n.rosa.wout, shape: [C, C], group: 'rosa', decay: true, init: { kind: 'identity' } },
        {
          name: n.rosa.e0,
          shape: [C],
          group: 'rosa',
          decay: false,
          init: { kind: 'constant', value: -eInit },
        },
        {
          name: n.rosa.e1,
          shape: [C],
          group: 'rosa',
          decay: false,
          init: { kind: 'constant', value: eInit },
        },
      );
    }
  }
  specs.push({ name: FINAL_NORM, shape: [C], group: 'base', decay: false, init: { kind: 'ones' } });
  if (!config.tiedHead) {
    specs.push({ name: LM_HEAD, shape: [V, C], group: 'base', decay: true, init: { kind: 'normal', std } });
  }
  return specs;
}

export function parameterCount(config: ModelConfig): number {
  return parameterSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** Seeded initial values of every parameter (the same on every backend). */
export function initialParameters(config: ModelConfig, seed: number): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  parameterSpecs(config).forEach((spec, index) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const r = rng(seed * 1000003 + index);
    const init = spec.init;
    if (init.kind === 'normal') {
      for (let i = 0; i < n; i += 2) {
        // Box–Muller: two normals from two uniforms.
        const u1 = Math.max(r(), 1e-12);
        const u2 = r();
        const mag = init.std * Math.sqrt(-2 * Math.log(u1));
        data[i] = mag * Math.cos(2 * Math.PI * u2);
        if (i + 1 < n) data[i + 1] = mag * Math.sin(2 * Math.PI * u2);
      }
    } else if (init.kind === 'xavier') {
      const bound = Math.sqrt(6 / (init.fanIn + init.fanOut));
      for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * bound;
    } else if (init.kind === 'ones') {
      data.fill(1);
    } else if (init.kind === 'constant') {
      data.fill(init.value);
    } else if (init.kind === 'identity') {
      const C = spec.shape[0];
      for (let i = 0; i < C; i++) data[i * C + i] = 1;
    }
    out.set(spec.name, data);
  });
  if (config.rosa.qk === 'tied-init') {
    for (const l of rosaLayers(config)) {
      const n = layerParamNames(config, l).rosa!;
      out.set(n.wk, Float32Array.from(out.get(n.wq)!));
    }
  }
  return out;
}
