// Hugging Face interop: import of folders transformers wrote, export → import identity, and
// playground exports run by transformers, all against the CPU backend's logits.
// Fixtures: test/fixtures/hf/ (scripts/make-playground-fixtures.ts, scripts/make-hf-fixtures.py).
//
// Tolerance for logits against transformers (both f32; our matmuls sum in f64, RoPE angles in
// f64 where HF uses f32): |ours − theirs| ≤ 2e-5 + 1e-5·|theirs|, on logits of magnitude up to ~9.
// Measured: at most 4e-6.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHfFolder } from '../../cli/model-files.ts';
import { defaultModelConfig, type ModelConfig, type ModelOverrides } from '../../src/gpu/model/config.ts';
import { cpuLogits } from '../../src/interop/cpu-logits.ts';
import { HfExportError, type HfImportError } from '../../src/interop/errors.ts';
import { exportHuggingFace, type HfFiles } from '../../src/interop/hf-export.ts';
import { importHuggingFace } from '../../src/interop/hf-import.ts';
import { halfToFloat, readSafetensors, writeSafetensors } from '../../src/interop/hf-safetensors.ts';
import { compareArrays } from '../harness/compare.ts';
import {
  FIXTURE_CHARS,
  FIXTURE_MODELS,
  FIXTURE_TOKENS,
  fixtureConfig,
  seededParameters,
} from './seeded-model.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'hf');
const TOLERANCE = { atol: 2e-5, rtol: 1e-5 };

interface LogitsRecord {
  tokens: number[];
  logits: number[][];
  class?: string;
}

function readLogits(path: string): LogitsRecord {
  return JSON.parse(readFileSync(path, 'utf8')) as LogitsRecord;
}

function expectClose(actual: Float32Array, expected: number[][]): void {
  const c = compareArrays(actual, expected.flat(), TOLERANCE);
  expect(c.mismatches, `max abs error ${c.maxAbsError} at ${c.worstIndex}`).toBe(0);
  expect(actual.length).toBe(expected.flat().length);
}

function maxAbsDifference(a: Float32Array, b: number[][]): number {
  return compareArrays(a, b.flat(), TOLERANCE).maxAbsError;
}

function importError(run: () => unknown): HfImportError {
  try {
    run();
  } catch (err) {
    expect((err as Error).name).toBe('HfImportError');
    return err as HfImportError;
  }
  throw new Error('expected an HfImportError');
}

describe('import of folders written by transformers', () => {
  const plain = { kvHeads: 0, qkNorm: false, attnBias: false, tiedHead: true };
  const cases = [
    { name: 'transformers-llama', architecture: 'LlamaForCausalLM', variant: 'global', features: plain },
    { name: 'transformers-mistral', architecture: 'MistralForCausalLM', variant: 'window', features: plain },
    // 4 heads of 4 channels on 2 key/value heads, lm_head separate from the embedding.
    {
      name: 'transformers-llama-gqa',
      architecture: 'LlamaForCausalLM',
      variant: 'global',
      features: { ...plain, kvHeads: 2, tiedHead: false },
    },
    {
      name: 'transformers-qwen2',
      architecture: 'Qwen2ForCausalLM',
      variant: 'global',
      features: { ...plain, kvHeads: 2, attnBias: true, tiedHead: false },
    },
    {
      name: 'transformers-qwen3',
      architecture: 'Qwen3ForCausalLM',
      variant: 'global',
      features: { ...plain, kvHeads: 1, qkNorm: true },
    },
    // head_dim 8 ≠ hidden 16 / 4 heads (as Qwen3-0.6B: 128 at 1024 / 16): q 32 wide, k/v 16.
    {
      name: 'transformers-qwen3-headdim',
      architecture: 'Qwen3ForCausalLM',
      variant: 'global',
      features: { ...plain, kvHeads: 2, qkNorm: true, headDim: 8 },
    },
  ];
  for (const { name, architecture, variant, features } of cases) {
    it(`${name}: same logits as transformers`, async () => {
      const dir = join(FIXTURES, name);
      const imported = importHuggingFace(await readHfFolder(dir));
      expect(imported.architecture).toBe(architecture);
      expect(imported.config.variant).toBe(variant);
      expect(imported.config).toMatchObject(features);
      expect(imported.config.ropeBase).toBe(500);
      expect(imported.config.normEps).toBe(1e-5);
      if (variant === 'window') expect(imported.config.window).toBe(4);
      const ref = readLogits(join(dir, 'logits.json'));
      expectClose(await cpuLogits(imported.config, imported.parameters, ref.tokens), ref.logits);
      // The feature is what made them agree: without the q/k norm, or with zero biases, they do not.
      if (features.qkNorm || features.attnBias) {
        const without = features.qkNorm
          ? await cpuLogits({ ...imported.config, qkNorm: false }, imported.parameters, ref.tokens)
          : await cpuLogits(
              imported.config,
              new Map(
                [...imported.parameters].map(([k, v]) => [k, /\.b[qkv]$/.test(k) ? v.map(() => 0) : v]),
              ),
              ref.tokens,
            );
        expect(maxAbsDifference(without, ref.logits)).toBeGreaterThan(0.05);
      }
    });
  }
});

describe('Qwen sliding windows, as transformers reads the config', () => {
  async function qwen2With(edit: (cfg: Record<string, unknown>) => void) {
    const files = await readHfFolder(join(FIXTURES, 'transformers-qwen2'));
    const cfg = JSON.parse(files['config.json'] as string);
    edit(cfg);
    return importHuggingFace({ ...files, 'config.json': JSON.stringify(cfg) }).config;
  }

  it('ignores sliding_window unless use_sliding_window is true', async () => {
    const config = await qwen2With((c) => {
      c.sliding_window = 4;
      c.use_sliding_window = false;
      delete c.layer_types;
    });
    expect(config.variant).toBe('global');
  });

  it('without layer_types, slides from max_window_layers on', async () => {
    const config = await qwen2With((c) => {
      c.sliding_window = 4;
      c.use_sliding_window = true;
      c.max_window_layers = 1;
      delete c.layer_types;
    });
    expect(config).toMatchObject({ variant: 'window', window: 4, globalLayers: [0] });
  });
});

describe('playground exports run by transformers', () => {
  for (const { name, seed, overrides } of FIXTURE_MODELS) {
    it(`${name}: the committed export is today's export, and transformers' logits are ours`, async () => {
      const dir = join(FIXTURES, name);
      const config = fixtureConfig(overrides);
      const parameters = seededParameters(config, seed);
      const files = exportHuggingFace({
        config,
        parameters,
        tokens: FIXTURE_CHARS,
        source: { run: name, step: 0 },
      });
      const committed = await readHfFolder(dir);
      expect(committed['config.json']).toBe(files['config.json']);
      expect(committed['tokenizer.json']).toBe(files['tokenizer.json']);
      expect(committed['vocab.json']).toBe(files['vocab.json']);
      expect(
        Buffer.from(committed['model.safetensors'] as Uint8Array).equals(
          files['model.safetensors'] as Uint8Array,
        ),
      ).toBe(true);

      const ref = readLogits(join(dir, 'transformers-logits.json'));
      expect(ref.tokens).toEqual(FIXTURE_TOKENS);
      const ours = await cpuLogits(config, parameters, FIXTURE_TOKENS);
      expectClose(ours, ref.logits);
      // The imported folder computes the same thing as the model it came from.
      const imported = importHuggingFace(committed);
      expect(await cpuLogits(imported.config, imported.parameters, FIXTURE_TOKENS)).toEqual(ours);
      // And the attention layout is what made them agree: the window (T = 12 > W = 4) matters.
      if (config.variant === 'window') {
        const global = await cpuLogits({ ...config, variant: 'global' }, parameters, FIXTURE_TOKENS);
        expect(maxAbsDifference(global, ref.logits)).toBeGreaterThan(0.05);
      }
    });
  }

  it('exports each attention layout under the architecture that runs it', () => {
    const classes = FIXTURE_MODELS.map(
      ({ name }) => readLogits(join(FIXTURES, name, 'transformers-logits.json')).class,
    );
    expect(classes).toEqual([
      'LlamaForCausalLM',
      'MistralForCausalLM',
      'MinistralForCausalLM',
      'MistralForCausalLM',
      'Qwen2ForCausalLM',
      'Qwen3ForCausalLM',
      'MistralForCausalLM',
    ]);
  });
});

describe('export → import is the identity', () => {
  const cases: Array<{ label: string; overrides: ModelOverrides }> = [
    { label: 'global', overrides: { variant: 'global' } },
    { label: 'window', overrides: { variant: 'window', window: 5 } },
    {
      label: 'window+rosa, layer 0 global, independent q/k',
      overrides: {
        variant: 'window+rosa',
        window: 3,
        globalLayers: [0],
        rosa: { layers: [1], bits: 2, semantics: 'rwkv8', qk: 'independent', tempQ: 2, eInit: 0.25 },
      },
    },
    {
      label: 'window+rosa, shared q/k, three layers',
      overrides: {
        variant: 'window+rosa',
        layers: 3,
        window: 6,
        rosa: { layers: [0, 2], bits: 4, semantics: 'exact', qk: 'shared', vProbContrast: false },
      },
    },
    {
      label: 'Qwen3-like: q/k norm, 4 heads on 1, untied head, windows after layer 0',
      overrides: {
        variant: 'window',
        window: 3,
        globalLayers: [0],
        heads: 4,
        kvHeads: 1,
        qkNorm: true,
        tiedHead: false,
      },
    },
    {
      label: 'Qwen3-like with head size 6 ≠ width / heads, window+rosa',
      overrides: {
        variant: 'window+rosa',
        window: 3,
        heads: 4,
        kvHeads: 2,
        headDim: 6,
        qkNorm: true,
        rosa: { layers: [1], bits: 4, semantics: 'rwkv8', qk: 'shared' },
      },
    },
    {
      label: 'Qwen2-like window+rosa: q/k/v biases, 4 heads on 2',
      overrides: {
        variant: 'window+rosa',
        window: 5,
        heads: 4,
        kvHeads: 2,
        attnBias: true,
        rosa: { layers: [0, 1], bits: 4, semantics: 'rwkv8', qk: 'shared' },
      },
    },
  ];
  for (const { label, overrides } of cases) {
    it(label, async () => {
      const config = fixtureConfig(overrides);
      const parameters = seededParameters(config, 99);
      const files = exportHuggingFace({ config, parameters, tokens: FIXTURE_CHARS });
      expect('rosa_adapter.safetensors' in files).toBe(config.variant === 'window+rosa');
      const back = importHuggingFace(files);
      expect(back.config).toEqual(config);
      expect([...back.parameters.keys()].sort()).toEqual([...parameters.keys()].sort());
      for (const [name, data] of parameters) expect(back.parameters.get(name), name).toEqual(data);
      expect(back.tokens).toEqual(FIXTURE_CHARS);
      const tokens = [1, 2, 3, 1, 2, 3, 1, 2, 4, 0];
      expect(await cpuLogits(back.config, back.parameters, tokens)).toEqual(
        await cpuLogits(config, parameters, tokens),
      );
    });
  }

  it("Qwen2/Qwen3's vocabulary of 151,936 (ids past 2^16) imports and runs", async () => {
    const config = fixtureConfig({ variant: 'window', window: 3, vocabSize: 151_936 });
    const parameters = seededParameters(config, 98);
    const back = importHuggingFace(exportHuggingFace({ config, parameters }));
    expect(back.config.vocabSize).toBe(151_936);
    const tokens = [151_935, 65_536, 3, 100_000];
    const logits = await cpuLogits(back.config, back.parameters, tokens);
    expect(logits.length).toBe(tokens.length * 151_936);
    expect(logits).toEqual(await cpuLogits(config, parameters, tokens));
  });

  it('names the ROSA adapter after the reference implementation', () => {
    const config = fixtureConfig(cases[2].overrides);
    const files = exportHuggingFace({ config, parameters: seededParameters(config, 1) });
    const adapter = readSafetensors(files['rosa_adapter.safetensors'] as Uint8Array, 'adapter').tensors;
    expect([...adapter.keys()].sort()).toEqual([
      'model.layers.1.rosa_e0',
      'model.layers.1.rosa_e1',
      'model.layers.1.rosa_k_proj.weight',
      'model.layers.1.rosa_out.weight',
      'model.layers.1.rosa_q_proj.weight',
      'model.layers.1.rosa_v_proj.weight',
    ]);
    const adapterConfig = JSON.parse(files['rosa_adapter_config.json'] as string);
    expect(adapterConfig).toMatchObject({
      bits_per_route: 2,
      routes: 8,
      semantics: 'rwkv8',
      layers: [1],
      qk: 'independent',
    });
  });
});

/** A copy of the transformers Llama fixture with its config and tensors edited. */
async function editedLlama(
  editConfig: (cfg: Record<string, unknown>) => void,
  editTensors: (t: Map<string, { shape: number[]; data: Float32Array }>) => void = () => {},
): Promise<HfFiles> {
  const files = await readHfFolder(join(FIXTURES, 'transformers-llama'));
  const cfg = JSON.parse(files['config.json'] as string);
  editConfig(cfg);
  const tensors = new Map(
    [...readSafetensors(files['model.safetensors'] as Uint8Array, 'model').tensors].map(([k, t]) => [
      k,
      { shape: t.shape, data: t.data },
    ]),
  );
  editTensors(tensors);
  return { 'config.json': JSON.stringify(cfg), 'model.safetensors': writeSafetensors(tensors) };
}

/** A safetensors file with one tensor of any dtype, from raw little-endian bytes. */
function rawSafetensors(name: string, dtype: string, shape: number[], data: Uint8Array): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ [name]: { dtype, shape, data_offsets: [0, data.byteLength] } }),
  );
  const out = new Uint8Array(8 + header.length + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

describe('sharded weights', () => {
  it('reads model.safetensors.index.json and its shards', async () => {
    const files = await readHfFolder(join(FIXTURES, 'transformers-llama'));
    const whole = importHuggingFace(files);
    const tensors = [...readSafetensors(files['model.safetensors'] as Uint8Array, 'model').tensors];
    const shards = [tensors.slice(0, 7), tensors.slice(7)].map(
      (part) => new Map(part.map(([k, t]) => [k, { shape: t.shape, data: t.data }])),
    );
    const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const weightMap = Object.fromEntries(
      shards.flatMap((shard, i) => [...shard.keys()].map((k) => [k, names[i]])),
    );
    const sharded = importHuggingFace({
      'config.json': files['config.json'],
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
      [names[0]]: writeSafetensors(shards[0]),
      [names[1]]: writeSafetensors(shards[1]),
    });
    expect(sharded.parameters).toEqual(whole.parameters);
  });
});

describe('what the import refuses, by name', () => {
  it('key/value heads that do not divide the heads', async () => {
    const files = await editedLlama((c) => {
      c.num_key_value_heads = 3;
    });
    expect(importError(() => importHuggingFace(files)).reason).toBe('grouped-query-attention');
  });

  it('biases, in the config or as tensors', async () => {
    const flagged = await editedLlama((c) => {
      c.attention_bias = true;
    });
    expect(importError(() => importHuggingFace(flagged)).reason).toBe('bias');
    const tensor = await editedLlama(
      () => {},
      (t) => t.set('model.layers.0.self_attn.q_proj.bias', { shape: [16], data: new Float32Array(16) }),
    );
    const err = importError(() => importHuggingFace(tensor));
    expect(err.reason).toBe('bias');
    expect(err.message).toContain('q_proj.bias');
    // Qwen2 has q/k/v biases, but none on o_proj or in the MLP.
    const qwen2 = await readHfFolder(join(FIXTURES, 'transformers-qwen2'));
    expect(importHuggingFace(qwen2).config.attnBias).toBe(true);
    const tensors = new Map(
      [...readSafetensors(qwen2['model.safetensors'] as Uint8Array, 'model').tensors].map(([k, t]) => [
        k,
        { shape: t.shape, data: t.data },
      ]),
    );
    tensors.set('model.layers.0.self_attn.o_proj.bias', { shape: [16], data: new Float32Array(16) });
    const oBias = { ...qwen2, 'model.safetensors': writeSafetensors(tensors) };
    expect(importError(() => importHuggingFace(oBias)).message).toContain('o_proj.bias');
    const mlpBias = JSON.parse(qwen2['config.json'] as string);
    mlpBias.mlp_bias = true;
    expect(
      importError(() => importHuggingFace({ ...qwen2, 'config.json': JSON.stringify(mlpBias) })).reason,
    ).toBe('bias');
  });

  it("q/k norm other than Qwen3's, and other architectures", async () => {
    const olmo2 = await editedLlama((c) => {
      c.model_type = 'olmo2';
      c.architectures = ['Olmo2ForCausalLM'];
    });
    expect(importError(() => importHuggingFace(olmo2)).reason).toBe('qk-norm');
    // A Qwen3 config needs its q/k norms.
    const qwen3 = await editedLlama((c) => {
      c.model_type = 'qwen3';
      c.architectures = ['Qwen3ForCausalLM'];
    });
    const missing = importError(() => importHuggingFace(qwen3));
    expect(missing.reason).toBe('tensor');
    expect(missing.message).toContain('q_norm.weight');
    const qNorm = await editedLlama(
      () => {},
      (t) =>
        t.set('model.layers.1.self_attn.q_norm.weight', { shape: [8], data: new Float32Array(8).fill(1) }),
    );
    expect(importError(() => importHuggingFace(qNorm)).reason).toBe('qk-norm');
    const gpt2 = await editedLlama((c) => {
      c.model_type = 'gpt2';
      c.architectures = ['GPT2LMHeadModel'];
    });
    const err = importError(() => importHuggingFace(gpt2));
    expect(err.reason).toBe('architecture');
    expect(err.message).toContain('gpt2');
  });

  it('an untied head', async () => {
    const different = await editedLlama(
      () => {},
      (t) => {
        const embed = t.get('model.embed_tokens.weight')!;
        t.set('lm_head.weight', { shape: embed.shape, data: embed.data.map((x) => x * 2) });
      },
    );
    expect(importError(() => importHuggingFace(different)).reason).toBe('untied-head');
    const untied = await editedLlama((c) => {
      c.tie_word_embeddings = false;
    });
    expect(importError(() => importHuggingFace(untied)).reason).toBe('untied-head');
    // The same values written twice are a tied head.
    const twice = await editedLlama(
      () => {},
      (t) => t.set('lm_head.weight', { ...t.get('model.embed_tokens.weight')! }),
    );
    expect(importHuggingFace(twice).config.vocabSize).toBe(40);
    expect(importHuggingFace(twice).config.tiedHead).toBe(true);
    // Untied with its lm_head: a separate parameter.
    const separate = await editedLlama(
      (c) => {
        c.tie_word_embeddings = false;
      },
      (t) => {
        const embed = t.get('model.embed_tokens.weight')!;
        t.set('lm_head.weight', { shape: embed.shape, data: embed.data.map((x) => x * 2) });
      },
    );
    const imported = importHuggingFace(separate);
    expect(imported.config.tiedHead).toBe(false);
    expect(imported.parameters.get('lm_head')).toEqual(imported.parameters.get('embed')!.map((x) => x * 2));
  });

  it('RoPE scaling, other activations, a head_dim that the tensors or the kernels do not fit', async () => {
    const yarn = await editedLlama((c) => {
      c.rope_parameters = { rope_type: 'yarn', rope_theta: 500, factor: 4 };
    });
    expect(importError(() => importHuggingFace(yarn)).reason).toBe('rope');
    const gelu = await editedLlama((c) => {
      c.hidden_act = 'gelu';
    });
    expect(importError(() => importHuggingFace(gelu)).reason).toBe('activation');
    // A head_dim ≠ hidden / heads is read (model.headDim), so the tensors must have its shapes.
    const headDim = await editedLlama((c) => {
      c.head_dim = 16;
    });
    const misshapen = importError(() => importHuggingFace(headDim));
    expect(misshapen.reason).toBe('tensor');
    expect(misshapen.message).toMatch(/q_proj\.weight" has shape \[16,16\]; the config needs \[32,16\]/);
    const odd = await editedLlama((c) => {
      c.head_dim = 7;
    });
    const oddError = importError(() => importHuggingFace(odd));
    expect(oddError.reason).toBe('config');
    expect(oddError.message).toMatch(/model\.headDim must be even/);
    const undivided = await editedLlama((c) => {
      c.num_attention_heads = 3;
      c.num_key_value_heads = 3;
      delete c.head_dim;
    });
    expect(importError(() => importHuggingFace(undivided)).message).toMatch(
      /num_attention_heads 3 does not divide hidden_size 16, and there is no head_dim/,
    );
  });

  it('missing or misshapen tensors', async () => {
    const missing = await editedLlama(
      () => {},
      (t) => t.delete('model.layers.1.mlp.up_proj.weight'),
    );
    expect(importError(() => importHuggingFace(missing)).message).toContain('mlp.up_proj.weight');
    const extra = await editedLlama(
      () => {},
      (t) => t.set('model.layers.0.extra.weight', { shape: [2], data: new Float32Array(2) }),
    );
    expect(importError(() => importHuggingFace(extra)).reason).toBe('tensor');
  });

  it('dtypes other than F32, F16, BF16', () => {
    const file = rawSafetensors('x', 'I8', [4], new Uint8Array([1, 2, 3, 4]));
    const err = importError(() => readSafetensors(file, 'int8.safetensors'));
    expect(err.reason).toBe('dtype');
    expect(err.message).toContain('I8');
  });

  it('q/k norm with q/k/v biases has no Hugging Face architecture (export error)', () => {
    const config = fixtureConfig({ variant: 'global', qkNorm: true, attnBias: true });
    expect(() => exportHuggingFace({ config, parameters: seededParameters(config, 1) })).toThrow(
      /no Hugging Face architecture/,
    );
  });

  it('LRSA has no Hugging Face architecture (export error)', () => {
    const config = defaultModelConfig({ variant: 'lrsa', width: 16, heads: 2, vocabSize: 40, mlpHidden: 32 });
    expect(() => exportHuggingFace({ config, parameters: seededParameters(config, 1) })).toThrow(
      HfExportError,
    );
  });
});

describe('F16 and BF16 weights', () => {
  it('halves convert exactly, subnormals and infinities included', () => {
    expect([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000, 0x7c00].map(halfToFloat)).toEqual([
      1,
      -2,
      0.5,
      65504,
      2 ** -24,
      -0,
      Number.POSITIVE_INFINITY,
    ]);
    const bytes = new Uint8Array(new Uint16Array([0x3c00, 0xb555]).buffer);
    const t = readSafetensors(rawSafetensors('h', 'F16', [2], bytes), 'half').tensors.get('h')!;
    expect(t.dtype).toBe('F16');
    expect(Array.from(t.data)).toEqual([1, -(1 + 0x155 / 1024) * 2 ** -2]);
  });

  it('a BF16 copy of a model imports as its bf16-rounded f32 values', async () => {
    const files = await readHfFolder(join(FIXTURES, 'transformers-llama'));
    const tensors = readSafetensors(files['model.safetensors'] as Uint8Array, 'model').tensors;
    // Truncate every tensor to bfloat16 (the top 16 bits) and write it as BF16.
    const header: Record<string, unknown> = {};
    const chunks: Uint8Array[] = [];
    const truncated = new Map<string, Float32Array>();
    let offset = 0;
    for (const [name, t] of tensors) {
      const top = new Uint16Array(t.data.length);
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      for (let i = 0; i < top.length; i++) top[i] = bits[i] >>> 16;
      truncated.set(name, new Float32Array(Uint32Array.from(top, (h) => h << 16).buffer));
      header[name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + top.byteLength] };
      chunks.push(new Uint8Array(top.buffer));
      offset += top.byteLength;
    }
    const json = new TextEncoder().encode(JSON.stringify(header));
    const file = new Uint8Array(8 + json.length + offset);
    new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
    file.set(json, 8);
    let at = 8 + json.length;
    for (const c of chunks) {
      file.set(c, at);
      at += c.byteLength;
    }
    const imported = importHuggingFace({ 'config.json': files['config.json'], 'model.safetensors': file });
    expect(imported.parameters.get('embed')).toEqual(truncated.get('model.embed_tokens.weight'));
    expect(imported.parameters.get('layers.1.mlp.w2')).toEqual(
      truncated.get('model.layers.1.mlp.down_proj.weight'),
    );
    expect(imported.parameters.get('embed')).not.toEqual(tensors.get('model.embed_tokens.weight')!.data);
  });
});

describe('tokenizer files', () => {
  it('characters in the vocabulary, markers as added tokens, duplicates made unique', () => {
    const tokens = ['a', 'b', ' ', '⟨K⟩', '?', 'a', ''];
    const files = exportHuggingFace({
      config: { ...fixtureConfig({ variant: 'global' }), vocabSize: tokens.length } as ModelConfig,
      parameters: seededParameters({ ...fixtureConfig({ variant: 'global' }), vocabSize: tokens.length }, 3),
      tokens,
    });
    const vocab = JSON.parse(files['vocab.json'] as string);
    expect(vocab).toEqual({ a: 0, b: 1, ' ': 2, '⟨K⟩': 3, '?': 4, '⟨5⟩': 5, '⟨6⟩': 6 });
    const tokenizer = JSON.parse(files['tokenizer.json'] as string);
    expect(tokenizer.model.type).toBe('WordLevel');
    expect(tokenizer.model.unk_token).toBe('?');
    expect(tokenizer.added_tokens.map((t: { content: string; id: number }) => [t.id, t.content])).toEqual([
      [3, '⟨K⟩'],
      [5, '⟨5⟩'],
      [6, '⟨6⟩'],
    ]);
  });

  it('refuses a vocabulary of the wrong size', () => {
    const config = fixtureConfig({ variant: 'global' });
    expect(() =>
      exportHuggingFace({ config, parameters: seededParameters(config, 1), tokens: ['a'] }),
    ).toThrow(/vocabulary has 1 tokens/);
  });
});
