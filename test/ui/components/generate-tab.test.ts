// @vitest-environment happy-dom
// The Generate tab against the in-process fake engine: a typed prompt goes to the engine with
// the form's settings, and the text grows token by token while the engine streams it.

import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { GeneratedToken, GenerationRequest } from '../../../src/gpu/train/protocol.ts';
import { draftToHash } from '../../../src/ui/config/url.ts';
import { parseGenerateForm } from '../../../src/ui/generate/form.ts';
import { applyPreset, PRESETS } from '../../../src/ui/presets.ts';
import { FakeTrainerClient } from '../fake-client.ts';
import { advanceRuns, disposePages, renderPage, startRuns } from '../harness.ts';

afterEach(disposePages);

/** Records every token the fake streams, and the requests. */
class RecordingClient extends FakeTrainerClient {
  readonly requests: GenerationRequest[] = [];
  readonly streamed: string[] = [];
  override async generate(request: GenerationRequest, onToken?: (token: GeneratedToken) => void) {
    this.requests.push(request);
    return super.generate(request, (t) => {
      this.streamed.push(t.text);
      onToken?.(t);
    });
  }
}

async function withTrainedTextRuns(preset = 'text', overrides = {}): Promise<RecordingClient> {
  const draft = applyPreset(PRESETS.find((p) => p.id === preset)!);
  const hash = draftToHash({ ...draft, steps: '40', evalEvery: '10', ...overrides });
  const { client } = await renderPage({ client: new RecordingClient(), hash });
  await startRuns(client, /^Start \d+ runs?$/);
  await advanceRuns(client, 2);
  return client;
}

describe('Generate tab', () => {
  it('sends the typed prompt and shows the tokens as they stream in', async () => {
    const client = await withTrainedTextRuns();
    fireEvent.click(screen.getByRole('tab', { name: 'Generate' }));
    fireEvent.change(await screen.findByLabelText('Prompt'), { target: { value: 'Call me Ishmael.' } });
    fireEvent.change(screen.getByLabelText('Characters to generate'), { target: { value: '30' } });
    fireEvent.change(screen.getByLabelText('Temperature'), { target: { value: '0' } });
    fireEvent.change(screen.getByLabelText('Sampling seed'), { target: { value: '7' } });
    // The engine holds the stream after 4 tokens until the test lets it go on.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    client.tokenGate = (i) => (i === 4 ? held : Promise.resolve());
    fireEvent.click(screen.getByRole('button', { name: 'Generate' }));
    const out = await screen.findByTestId('generated-text');
    // Part-way: the 4 tokens sampled so far are shown after the prompt, and no summary yet.
    const first4 = FakeTrainerClient.GENERATED.slice(0, 4);
    await waitFor(() => expect(out.textContent).toBe(`Call me Ishmael.${first4}▍`));
    expect(screen.queryByTestId('generation-summary')).toBeNull();
    expect(screen.getByRole('button', { name: 'Generating…' })).toBeTruthy();
    release();
    // Done: the whole continuation, and the summary.
    await screen.findByTestId('generation-summary', {}, { timeout: 3000 });
    const expected = FakeTrainerClient.GENERATED.repeat(3);
    expect(out.textContent).toBe(`Call me Ishmael.${expected}`);
    expect(client.requests).toEqual([
      expect.objectContaining({ prompt: 'Call me Ishmael.', length: 30, temperature: 0, seed: 7 }),
    ]);
    expect((screen.getByRole('button', { name: 'Generate' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('Stop ends the generation in progress and keeps the text sampled so far', async () => {
    const client = await withTrainedTextRuns();
    fireEvent.click(screen.getByRole('tab', { name: 'Generate' }));
    fireEvent.change(await screen.findByLabelText('Prompt'), { target: { value: 'Ahab' } });
    fireEvent.change(screen.getByLabelText('Characters to generate'), { target: { value: '30' } });
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    client.tokenGate = (i) => (i === 5 ? held : Promise.resolve());
    expect(screen.queryByRole('button', { name: 'Stop generating' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Generate' }));
    const out = await screen.findByTestId('generated-text');
    const first5 = FakeTrainerClient.GENERATED.slice(0, 5);
    await waitFor(() => expect(out.textContent).toBe(`Ahab${first5}▍`));
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Stop generating' })));
    expect(client.calls).toContain(`cancel generation ${client.requests[0].runId}`);
    release();
    const summary = await screen.findByTestId('generation-summary', {}, { timeout: 3000 });
    expect(summary.textContent).toMatch(/^Stopped after 5 of 30 characters; mean probability/);
    expect(out.textContent).toBe(`Ahab${first5}`);
    expect(screen.queryByRole('button', { name: 'Stop generating' })).toBeNull();
    expect((screen.getByRole('button', { name: 'Generate' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('stops the generation when the page leaves the tab', async () => {
    const client = await withTrainedTextRuns();
    fireEvent.click(screen.getByRole('tab', { name: 'Generate' }));
    fireEvent.change(await screen.findByLabelText('Prompt'), { target: { value: 'Ahab' } });
    client.tokenGate = () => new Promise(() => {});
    fireEvent.click(screen.getByRole('button', { name: 'Generate' }));
    await screen.findByRole('button', { name: 'Stop generating' });
    expect(client.calls.filter((c) => c.startsWith('cancel generation'))).toEqual([]);
    await act(async () => fireEvent.click(screen.getByRole('tab', { name: 'Curves' })));
    expect(client.calls).toContain(`cancel generation ${client.requests[0].runId}`);
  });

  it('refuses a length beyond four contexts before asking the engine', async () => {
    const client = await withTrainedTextRuns();
    fireEvent.click(screen.getByRole('tab', { name: 'Generate' }));
    fireEvent.change(await screen.findByLabelText('Characters to generate'), { target: { value: '100000' } });
    expect((screen.getByRole('button', { name: 'Generate' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/Characters to generate must be a whole number from 1 to/)).toBeTruthy();
    expect(client.requests).toEqual([]);
  });

  it('says what to do when no run was trained on text', async () => {
    await withTrainedTextRuns(PRESETS[0].id, { lengthWarmup: '20' });
    fireEvent.click(screen.getByRole('tab', { name: 'Generate' }));
    expect(await screen.findByText('No text runs yet')).toBeTruthy();
  });

  it('says so when the text runs have no model to generate from', async () => {
    const client = await withTrainedTextRuns();
    await act(async () => {
      for (const id of client.runs.keys())
        client.emit({ type: 'status', runId: id, status: 'failed', step: 2 });
      await new Promise((r) => setTimeout(r, 5));
    });
    fireEvent.click(screen.getByRole('tab', { name: 'Generate' }));
    expect(await screen.findByText('No text model in memory')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Generate' })).toBeNull();
  });

  it('parses the form with limits from the sequence length', () => {
    const ok = parseGenerateForm({ prompt: 'a', length: '64', temperature: '0', seed: '3' }, 'r', 16);
    expect(ok.request).toEqual({ runId: 'r', prompt: 'a', length: 64, temperature: 0, seed: 3 });
    const bad = parseGenerateForm({ prompt: '', length: '65', temperature: '-1', seed: '1.5' }, 'r', 16);
    expect(Object.keys(bad.errors ?? {}).sort()).toEqual(['length', 'prompt', 'seed', 'temperature']);
    expect(bad.errors?.length).toMatch(/1 to 64/);
  });
});
