// @vitest-environment happy-dom
// The Checkpoints tab's Hugging Face buttons against the fake engine. "Export to Hugging Face": a
// real checkpoint (a NIAH window+rosa model) exported as one zip; the folder inside imports back
// to the same weights. "Import a Hugging Face model": a committed transformers fixture picked as a
// folder becomes a base checkpoint holding its weights; unsupported folders are refused by name.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { withRunDefaults } from '../../../src/config/walk.ts';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  decodeCheckpoint,
  encodeCheckpoint,
} from '../../../src/gpu/checkpoint/checkpoint.ts';
import type { RunSpec } from '../../../src/gpu/train/protocol.ts';
import { importHuggingFace } from '../../../src/interop/hf-import.ts';
import { passkeyVocab } from '../../../src/tasks/passkey-vocab.ts';
import { type HfPickProgress, readHfPick } from '../../../src/ui/export/hf-pick.ts';
import { fixtureConfig, seededParameters } from '../../interop/seeded-model.ts';
import { readStoredZip } from '../export/read-zip.ts';
import { FakeTrainerClient } from '../fake-client.ts';
import { disposePages, renderPage } from '../harness.ts';

const realCreateObjectURL = URL.createObjectURL;
afterEach(() => {
  URL.createObjectURL = realCreateObjectURL;
  disposePages();
});

const config = fixtureConfig({
  vocabSize: passkeyVocab.size,
  seqLen: 64,
  variant: 'window+rosa',
  window: 3,
  globalLayers: [0],
  rosa: { layers: [1], bits: 4, semantics: 'rwkv8', qk: 'shared', eInit: 0.5 },
});
const parameters = seededParameters(config, 5);

function checkpointFiles(): { weights: Uint8Array; manifest: string } {
  const spec = withRunDefaults({
    id: 'ui-export',
    name: 'ui export',
    task: { kind: 'niah', seqLen: 64 },
    model: config,
    train: {},
    backend: 'cpu',
  }) as RunSpec;
  return encodeCheckpoint({
    manifest: {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      spec,
      step: 7,
      savedAt: '2026-01-01T00:00:00.000Z',
      metrics: { steps: [], evals: [] },
    },
    parameters,
    optimizer: null,
  });
}

async function renderCheckpoints(client: FakeTrainerClient): Promise<void> {
  await renderPage({ client });
  fireEvent.click(screen.getByRole('tab', { name: 'Checkpoints' }));
}

describe('Export to Hugging Face', () => {
  it('downloads one zip with the folder transformers loads, which imports back to the same weights', async () => {
    const client = new FakeTrainerClient();
    await client.importCheckpoint(checkpointFiles());
    const blobs: Blob[] = [];
    URL.createObjectURL = (blob: Blob | MediaSource) => {
      blobs.push(blob as Blob);
      return 'blob:test';
    };
    await renderCheckpoints(client);
    const table = await screen.findByRole('table', { name: 'Checkpoints' });
    const button = within(table).getByRole('button', {
      name: 'Export checkpoint ui export step 7 to Hugging Face',
    });
    await act(async () => fireEvent.click(button));
    const status = await screen.findByText(/Exported ui export \(step 7\) as ui-export-step7-hf\.zip/);
    expect(status.textContent).toContain('rosa_adapter.safetensors');
    await waitFor(() => expect(blobs).toHaveLength(1));
    const zip = readStoredZip(new Uint8Array(await blobs[0].arrayBuffer()));
    const names = Object.keys(zip).sort();
    expect(names).toEqual(
      [
        'config.json',
        'generation_config.json',
        'model.safetensors',
        'rosa_adapter.safetensors',
        'rosa_adapter_config.json',
        'tokenizer.json',
        'tokenizer_config.json',
        'vocab.json',
      ].map((n) => `ui-export-step7-hf/${n}`),
    );
    const files = Object.fromEntries(
      Object.entries(zip).map(([path, bytes]) => [
        path.split('/')[1],
        path.endsWith('.safetensors') ? bytes : new TextDecoder().decode(bytes),
      ]),
    );
    expect(JSON.parse(files['config.json'] as string).architectures).toEqual(['MinistralForCausalLM']);
    const back = importHuggingFace(files);
    expect(back.config).toMatchObject({ variant: 'window+rosa', window: 3, globalLayers: [0] });
    for (const [name, data] of parameters) expect(back.parameters.get(name), name).toEqual(data);
    expect(back.tokens?.[33]).toBe('A');
  });

  it('says why a checkpoint cannot be exported', async () => {
    const client = new FakeTrainerClient();
    await client.importCheckpoint({
      weights: new Uint8Array(16),
      manifest: JSON.stringify({ spec: { id: 'x', name: 'broken', model: { variant: 'global' } }, step: 1 }),
    });
    await renderCheckpoints(client);
    const table = await screen.findByRole('table', { name: 'Checkpoints' });
    await act(async () =>
      fireEvent.click(
        within(table).getByRole('button', { name: 'Export checkpoint broken step 1 to Hugging Face' }),
      ),
    );
    expect((await screen.findByRole('alert')).textContent).toMatch(/manifest|safetensors/i);
  });
});

const QWEN3 = join(import.meta.dirname, '..', '..', 'fixtures', 'hf', 'transformers-qwen3');

/** The fixture folder's files as a folder input gives them (paths below the picked folder). */
function pickedFolder(folder: string, replace: Record<string, string> = {}): File[] {
  return readdirSync(QWEN3).map((name) => {
    const file = new File([replace[name] ?? readFileSync(join(QWEN3, name))], name);
    Object.defineProperty(file, 'webkitRelativePath', { value: `${folder}/${name}` });
    return file;
  });
}

describe('Import a Hugging Face model', () => {
  it('stores the picked folder as a base checkpoint with the imported weights', async () => {
    const client = new FakeTrainerClient();
    await renderCheckpoints(client);
    const input = await screen.findByLabelText('Hugging Face model folder');
    expect(input.hasAttribute('webkitdirectory')).toBe(true);
    await act(async () => fireEvent.change(input, { target: { files: pickedFolder('tiny-qwen3') } }));
    expect(
      (await screen.findByText(/Imported tiny-qwen3 \(Qwen3ForCausalLM\) as a base checkpoint/)).textContent,
    ).toContain('parameters');
    const table = await screen.findByRole('table', { name: 'Checkpoints' });
    expect(within(table).getByText('tiny-qwen3 (Qwen3ForCausalLM)')).toBeTruthy();
    const [key] = [...client.checkpoints.keys()];
    const stored = await client.exportCheckpoint(key);
    // What the engine checks on import: both files decode and match.
    const contents = decodeCheckpoint(stored.weights, stored.manifest);
    expect(contents.manifest.spec.model).toMatchObject({
      width: 16,
      heads: 4,
      kvHeads: 1,
      qkNorm: true,
      vocabSize: 40,
    });
    const expected = importHuggingFace({
      'config.json': readFileSync(join(QWEN3, 'config.json'), 'utf8'),
      'model.safetensors': new Uint8Array(readFileSync(join(QWEN3, 'model.safetensors'))),
    });
    for (const [name, data] of expected.parameters) expect(contents.parameters.get(name), name).toEqual(data);
  });

  it('reports progress file by file, then the conversion', async () => {
    const seen: HfPickProgress[] = [];
    const picked = await readHfPick(pickedFolder('q'), (p) => seen.push(p));
    expect(picked.parameters).toBeGreaterThan(0);
    const reading = seen.filter((p) => p.stage === 'reading');
    expect(reading.map((p) => p.name).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'logits.json',
      'model.safetensors',
    ]);
    expect(seen.at(-1)).toEqual({ stage: 'converting' });
  });

  it('names what is missing or unsupported', async () => {
    const client = new FakeTrainerClient();
    await renderCheckpoints(client);
    const gpt2 = pickedFolder('gpt2', {
      'config.json': JSON.stringify({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'] }),
    });
    await act(async () =>
      fireEvent.change(await screen.findByLabelText('Hugging Face model folder'), {
        target: { files: gpt2 },
      }),
    );
    expect((await screen.findByTestId('hf-error')).textContent).toContain(
      'model_type "gpt2" (GPT2LMHeadModel) is not supported',
    );
    const weightsOnly = pickedFolder('w').filter((f) => f.name === 'model.safetensors');
    await act(async () =>
      fireEvent.change(await screen.findByLabelText('Hugging Face model files'), {
        target: { files: weightsOnly },
      }),
    );
    await waitFor(() =>
      expect(screen.getByTestId('hf-error').textContent).toContain('config.json is missing'),
    );
    expect(client.checkpoints.size).toBe(0);
  });
});
