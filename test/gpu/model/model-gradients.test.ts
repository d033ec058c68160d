import { describe, expect, it } from 'vitest';
import { rng } from '../../../src/common/random.ts';
import { defaultModelConfig, type ModelOverrides, type Variant } from '../../../src/gpu/model/config.ts';
import { CpuBackend } from '../../../src/gpu/model/cpu-backend.ts';
import { Model } from '../../../src/gpu/model/model.ts';
import { initialParameters } from '../../../src/gpu/model/params.ts';
import { inlineScanner } from '../../../src/gpu/model/scanners.ts';

// Finite differences of the whole model's loss (CPU backend) against its backward pass.
// Global and windowed attention are differentiable everywhere, so every parameter is checked.
// With ROSA, the scan is a step function of everything upstream of it and the counterfactual
// gradient is a surrogate, so only what lies downstream of the last layer's scan is checked:
// e0, e1 and W_out of that layer (y = e0 + (e1 − e0)·bit is linear in them), its MLP and the final norm.
// Central differences on f32 activations: h = 1e-2 and a 3% relative tolerance on the entries
// with the largest gradients (the initial weights are scaled up so that gradients are O(0.1)).

async function check(
  variant: Variant,
  names: (name: string) => boolean,
  extra: ModelOverrides = {},
): Promise<number> {
  const config = defaultModelConfig({
    vocabSize: 11,
    seqLen: 20,
    layers: 2,
    width: 8,
    heads: 2,
    mlpHidden: 16,
    window: 5,
    variant,
    rosa: { bits: 4, semantics: 'rosa-tuning', tempQ: 1, tempK: 1, tempV: 1, vProbContrast: true },
    ...extra,
  });
  const init = initialParameters(config, 3);
  const r = rng(9);
  for (const [name, d] of init) {
    if (name.includes('norm')) continue;
    for (let i = 0; i < d.length; i++) d[i] += (r() - 0.5) * 0.6;
  }
  const model = new Model(new CpuBackend(), config, init);
  // An explicit head size must shape the projections (q: heads · headDim rows, o: as many columns).
  if (extra.headDim) {
    expect(model.params.get('layers.0.attn.wq')!.spec.shape).toEqual([
      config.heads * extra.headDim,
      config.width,
    ]);
    expect(model.params.get('layers.0.attn.wo')!.spec.shape).toEqual([
      config.width,
      config.heads * extra.headDim,
    ]);
  }
  const B = 2;
  const T = 20;
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r() * 11));
  const labels = Int32Array.from({ length: B * T }, (_, i) => (i % 3 === 0 ? -1 : Math.floor(r() * 11)));
  const scanner = inlineScanner();
  await model.forward(tokens, labels, B, T, scanner, true);
  model.backward();
  let worst = 0;
  let checked = 0;
  for (const [name, s] of model.params) {
    if (!names(name)) continue;
    const g = Float32Array.from(s.grad);
    const largest = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 3);
    for (const i of largest) {
      const old = s.param[i];
      const h = 1e-2;
      s.param[i] = old + h;
      const plus = (await model.forward(tokens, labels, B, T, scanner)).loss.meanLoss;
      s.param[i] = old - h;
      const minus = (await model.forward(tokens, labels, B, T, scanner)).loss.meanLoss;
      s.param[i] = old;
      const fd = (plus - minus) / (2 * h);
      const err = Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd) + Math.abs(g[i]));
      if (err > 0.03) throw new Error(`${variant} ${name}[${i}]: finite difference ${fd}, backward ${g[i]}`);
      worst = Math.max(worst, err);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(5);
  return worst;
}

describe('whole-model gradients (CPU backend) against finite differences', () => {
  it('global attention: every parameter', async () => {
    expect(await check('global', () => true)).toBeLessThan(0.03);
  });
  it('windowed attention: every parameter', async () => {
    expect(await check('window', () => true)).toBeLessThan(0.03);
  });
  it('windowed, Qwen-style: grouped-query attention (2 heads on 1), q/k norm, q/k/v biases, untied head', async () => {
    const extra = { kvHeads: 1, qkNorm: true, attnBias: true, tiedHead: false };
    expect(await check('window', () => true, extra)).toBeLessThan(0.03);
  });
  // model.headDim: q/k/v and the attention output are heads · headDim wide, not width.
  it('global attention, head size 6 ≠ width / heads (attention 12 wide at width 8): every parameter', async () => {
    expect(await check('global', () => true, { headDim: 6 })).toBeLessThan(0.03);
  });
  it('windowed, Qwen3-style with head size 6 > width / heads: GQA, q/k norm, biases, untied head', async () => {
    const extra = { headDim: 6, kvHeads: 1, qkNorm: true, attnBias: true, tiedHead: false };
    expect(await check('window', () => true, extra)).toBeLessThan(0.03);
  });
  it('windowed, Qwen3-style with head size 4 < width / heads = 8 (width 16): the same options', async () => {
    const extra = { width: 16, headDim: 4, kvHeads: 1, qkNorm: true, attnBias: true, tiedHead: false };
    expect(await check('window', () => true, extra)).toBeLessThan(0.03);
  });
  it('window+rosa, head size 6: the last layer’s attention (beside its scan) and what lies downstream', async () => {
    // The last layer's scan reads u, not the attention, so its attention weights are differentiable.
    const beside = (n: string) =>
      /^layers\.1\.(attn\.w[qkvo]|rosa\.(e0|e1|wout)|mlp|mlp_norm)/.test(n) || n === 'final_norm';
    expect(await check('window+rosa', beside, { headDim: 6 })).toBeLessThan(0.03);
  });
  it('window+rosa: everything downstream of the last scan', async () => {
    const downstream = (n: string) =>
      /^layers\.1\.(rosa\.(e0|e1|wout)|mlp|mlp_norm)/.test(n) || n === 'final_norm';
    expect(await check('window+rosa', downstream)).toBeLessThan(0.03);
  });
});
