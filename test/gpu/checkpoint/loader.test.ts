// The loader names what is wrong with a checkpoint (CheckpointError), whatever the files hold:
// it never crashes with a TypeError or RangeError, and never silently drops state.

import { describe, expect, it } from 'vitest';
import { CheckpointError, decodeCheckpoint } from '../../../src/gpu/checkpoint/checkpoint.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  type NamedTensor,
} from '../../../src/gpu/checkpoint/safetensors.ts';
import { headDim } from '../../../src/gpu/model/config.ts';
import { tinyFiles, tinySpec } from './fixtures/tiny.ts';

type Tensors = Record<string, NamedTensor>;

/** Re-encodes the weights of a good checkpoint after `edit` changed its tensors or metadata. */
function editWeights(edit: (tensors: Tensors, metadata: Record<string, string>) => void) {
  const files = tinyFiles(3);
  const { tensors, metadata } = decodeSafetensors(files.weights);
  edit(tensors, metadata);
  return { weights: encodeSafetensors(tensors, metadata), manifest: files.manifest };
}

/** Replaces the safetensors header of a good checkpoint with `header` (data unchanged). */
function withHeaderText(text: string) {
  const files = tinyFiles(3);
  const view = new DataView(files.weights.buffer, files.weights.byteOffset);
  const oldLen = Number(view.getBigUint64(0, true));
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + files.weights.length - 8 - oldLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(files.weights.subarray(8 + oldLen), 8 + json.length);
  return { weights: out, manifest: files.manifest };
}

function header(): Record<string, unknown> {
  const files = tinyFiles(3);
  const len = Number(new DataView(files.weights.buffer).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(files.weights.subarray(8, 8 + len)));
}

function rejects(files: { weights: Uint8Array; manifest: string }, message: RegExp) {
  let thrown: unknown = null;
  try {
    decodeCheckpoint(files.weights, files.manifest);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CheckpointError);
  expect((thrown as Error).message).toMatch(message);
}

describe('checkpoint loader', () => {
  it('loads a good checkpoint with its optimizer state', () => {
    const files = tinyFiles(3);
    const back = decodeCheckpoint(files.weights, files.manifest);
    expect(back.manifest.step).toBe(3);
    expect(back.optimizer?.size).toBe(back.parameters.size);
  });

  it('names NaN or infinite weights and moments', () => {
    rejects(
      editWeights((t) => {
        (t.embed.data as Float32Array)[0] = Number.NaN;
      }),
      /"embed" contains NaN/,
    );
    rejects(
      editWeights((t) => {
        (t['optim.m.embed'].data as Float32Array)[1] = Number.NEGATIVE_INFINITY;
      }),
      /"optim\.m\.embed" contains NaN or infinite/,
    );
  });

  it('names negative or integer-typed AdamW moments', () => {
    rejects(
      editWeights((t) => {
        (t['optim.v.embed'].data as Float32Array)[2] = -1e-3;
      }),
      /"optim\.v\.embed" has negative values/,
    );
    rejects(
      editWeights((t) => {
        const m = t['optim.m.embed'];
        t['optim.m.embed'] = { dtype: 'I32', shape: m.shape, data: new Int32Array(m.data.length) };
      }),
      /"optim\.m\.embed" has shape .*\(I32\).*\(F32\)/,
    );
  });

  it('refuses a partial optimizer state instead of dropping it', () => {
    rejects(
      editWeights((t) => {
        delete t['optim.m.embed'];
        delete t['optim.v.embed'];
      }),
      /partial optimizer state.*"embed"/,
    );
    rejects(
      editWeights((t) => {
        delete t['optim.v.embed'];
      }),
      /"embed" has only one of its two AdamW moments/,
    );
  });

  it('matches the weights to the manifest by step and configuration', () => {
    const files = tinyFiles(3);
    rejects({ weights: files.weights, manifest: tinyFiles(5).manifest }, /weights of step 3.*step 5/);
    const base = tinySpec();
    const others = [
      { ...base, model: { ...base.model, window: 8 } },
      { ...base, model: { ...base.model, rosa: { ...base.model.rosa, semantics: 'exact' as const } } },
    ];
    for (const spec of others) {
      rejects(
        { weights: files.weights, manifest: tinyFiles(3, spec).manifest },
        /another model configuration/,
      );
    }
    const lrsa = { ...base, model: { ...base.model, variant: 'lrsa+rosa' as const } };
    rejects({ weights: files.weights, manifest: tinyFiles(3, lrsa).manifest }, /configuration/);
    expect(decodeSafetensors(files.weights).metadata).toMatchObject({ step: '3', run: 'tiny' });
  });

  it('keeps a head size ≠ width / heads (model.headDim) and refuses its weights under another', () => {
    const base = tinySpec();
    const D = 2 * headDim(base.model);
    const spec = { ...base, model: { ...base.model, headDim: D } };
    const files = tinyFiles(3, spec);
    const back = decodeCheckpoint(files.weights, files.manifest);
    expect(back.manifest.spec.model.headDim).toBe(D);
    const { heads, width } = base.model;
    expect(back.parameters.get('layers.0.attn.wq')!.length).toBe(heads * D * width);
    rejects(
      { weights: files.weights, manifest: tinyFiles(3, base).manifest },
      new RegExp(
        `"layers\\.0\\.attn\\.wq" has shape \\[${heads * D},${width}\\].*needs \\[${width},${width}\\]`,
      ),
    );
    // Absent stays absent: manifests from before the setting keep their configuration fingerprint.
    expect(
      'headDim' in decodeCheckpoint(tinyFiles(3).weights, tinyFiles(3).manifest).manifest.spec.model,
    ).toBe(false);
  });

  it('names a null tensor entry and non-string metadata', () => {
    rejects(withHeaderText(JSON.stringify({ ...header(), extra: null })), /tensor "extra" must be an object/);
    rejects(
      withHeaderText(JSON.stringify({ ...header(), __metadata__: { step: 3 } })),
      /__metadata__ "step" must be a string/,
    );
  });

  it('bounds the nesting of the header and of the manifest', () => {
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    rejects(
      withHeaderText(JSON.stringify({ ...header(), __metadata__: 'X' }).replace('"X"', deep)),
      /nested/,
    );
    const manifest = JSON.parse(tinyFiles(3).manifest);
    const text = JSON.stringify({ ...manifest, extra: 'X' }).replace('"X"', deep);
    rejects({ weights: tinyFiles(3).weights, manifest: text }, /nested more than/);
  });
});
