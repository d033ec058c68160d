// @vitest-environment happy-dom
// The page keeps an imported model's tokenizer: the Checkpoints tab says so when the folder has
// a tokenizer.json the playground reads, the stored checkpoint holds it, and the setup form
// offers the base model's tokens for NIAH and text, refused until a base checkpoint is chosen.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../../src/gpu/checkpoint/checkpoint.ts';
import { hfCheckpoint } from '../../../src/interop/hf-checkpoint.ts';
import { exportHuggingFace } from '../../../src/interop/hf-export.ts';
import { fixtureConfig, seededParameters } from '../../interop/seeded-model.ts';
import { FakeTrainerClient } from '../fake-client.ts';
import { disposePages, renderPage } from '../harness.ts';

afterEach(() => disposePages());

const TOKENIZER = readFileSync(
  join(import.meta.dirname, '..', '..', 'fixtures', 'tokenizer', 'qwen2', 'tokenizer.json'),
  'utf8',
);

/** A 400-token fixture model with the Qwen2 fixture tokenizer, as the folder input gives it. */
function folderFiles(): File[] {
  const config = fixtureConfig({ vocabSize: 400, seqLen: 64, variant: 'window', window: 4 });
  const files = {
    ...exportHuggingFace({ config, parameters: seededParameters(config, 2) }),
    'tokenizer.json': TOKENIZER,
  };
  return Object.entries(files).map(([name, contents]) => {
    const file = new File([contents], name);
    Object.defineProperty(file, 'webkitRelativePath', { value: `tiny-qwen/${name}` });
    return file;
  });
}

describe("an imported model's tokenizer in the page", () => {
  it('the Checkpoints tab keeps it with the base checkpoint and says so', async () => {
    const client = new FakeTrainerClient();
    await renderPage({ client });
    fireEvent.click(screen.getByRole('tab', { name: 'Checkpoints' }));
    const input = await screen.findByLabelText('Hugging Face model folder');
    await act(async () => fireEvent.change(input, { target: { files: folderFiles() } }));
    const info = await screen.findByText(/Imported tiny-qwen .* as a base checkpoint/);
    expect(info.textContent).toContain(
      "Its tokenizer (400 tokens) is kept: text and NIAH runs from it can use the base model's tokens.",
    );
    const [key] = [...client.checkpoints.keys()];
    const stored = await client.exportCheckpoint(key);
    const { manifest } = decodeCheckpoint(stored.weights, stored.manifest);
    expect(manifest.tokenizer).toBe(TOKENIZER);
    expect(manifest.spec.task).toMatchObject({ kind: 'text', tokenizer: 'base' });
  });

  it("a NIAH run from it in the base model's tokens: refused without the base, started with it", async () => {
    const client = new FakeTrainerClient();
    const config = fixtureConfig({ vocabSize: 400, seqLen: 64, variant: 'window', window: 4 });
    const files = {
      ...exportHuggingFace({ config, parameters: seededParameters(config, 2) }),
      'tokenizer.json': TOKENIZER,
    };
    const base = await client.importCheckpoint(hfCheckpoint(files, 'tiny-qwen').files);
    await renderPage({ client });
    const tokens = screen.getByLabelText('Tokens') as HTMLSelectElement;
    expect(tokens.value).toBe('chars');
    fireEvent.change(tokens, { target: { value: 'base' } });
    await waitFor(() =>
      expect(document.body.textContent).toContain(
        'needs a base checkpoint: start from a Hugging Face model imported with its tokenizer.json',
      ),
    );
    expect(document.body.textContent).toContain(
      "must be corpus or repeat with the base model's tokens: the haystack is natural text (got random)",
    );
    expect((screen.getByRole('button', { name: /Start/ }) as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Filler'), { target: { value: 'corpus' } });
    fireEvent.focus(screen.getByLabelText('Weights'));
    await waitFor(() => expect(screen.getByRole('option', { name: /tiny-qwen/ })).toBeTruthy());
    fireEvent.change(screen.getByLabelText('Weights'), { target: { value: base.key } });
    await waitFor(() =>
      expect((screen.getByRole('button', { name: /Start/ }) as HTMLButtonElement).disabled).toBe(false),
    );
    expect(document.body.textContent).not.toContain('needs a base checkpoint');
    await act(async () => fireEvent.click(screen.getByRole('button', { name: /Start/ })));
    await waitFor(() => expect(client.runs.size).toBeGreaterThan(0));
    for (const run of client.runs.values()) {
      expect(run.spec.task).toMatchObject({ kind: 'niah', tokenizer: 'base', filler: 'corpus' });
      expect(run.spec.from).toBe(base.key);
    }
  });

  it('the text task offers the same choice; other tasks do not', async () => {
    await renderPage();
    fireEvent.change(screen.getByLabelText('Task'), { target: { value: 'text' } });
    expect((screen.getByLabelText('Tokens') as HTMLSelectElement).value).toBe('chars');
    fireEvent.change(screen.getByLabelText('Task'), { target: { value: 'mqar' } });
    expect(screen.queryByLabelText('Tokens')).toBeNull();
  });
});
