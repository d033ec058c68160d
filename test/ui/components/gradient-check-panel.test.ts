// @vitest-environment happy-dom
// The gradient check panel of the Retrieval tab, against the in-process fake engine.

import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../../src/ui/App.tsx';
import { draftToHash } from '../../../src/ui/config/url.ts';
import { preloadViews } from '../../../src/ui/lazy-views.tsx';
import { applyPreset, PRESETS } from '../../../src/ui/presets.ts';
import { MemoryStorage } from '../../../src/ui/state/persistence.ts';
import { createPlaygroundStore, type PlaygroundStore } from '../../../src/ui/state/store.ts';
import { FakeTrainerClient } from '../fake-client.ts';

const live: Array<{ store: PlaygroundStore; client: FakeTrainerClient }> = [];
afterEach(() => {
  cleanup();
  for (const r of live.splice(0)) {
    r.store.getState().dispose();
    r.client.dispose();
  }
});

const QUICK = draftToHash({ ...applyPreset(PRESETS[0]), steps: '40', evalEvery: '10', lengthWarmup: '20' });

async function withTrainedRuns(): Promise<FakeTrainerClient> {
  const client = new FakeTrainerClient();
  const store = createPlaygroundStore({
    client,
    storage: new MemoryStorage(),
    scheduleFrame: (cb) => setTimeout(cb, 0),
    persistDelayMs: 5,
  });
  live.push({ store, client });
  await store.getState().init();
  // The tabs' code is loaded lazily; have it here so that a click shows the view at once.
  await preloadViews();
  render(
    createElement(App, {
      store,
      openGpu: () => Promise.reject(new Error('navigator.gpu is missing (test page)')),
      initialHash: QUICK,
      writeHash: () => {},
    }),
  );
  const start = await screen.findByRole('button', { name: 'Start 3 runs' });
  await waitFor(() => expect((start as HTMLButtonElement).disabled).toBe(false));
  await act(async () => fireEvent.click(start));
  await waitFor(() => expect(client.runs.size).toBe(3));
  await act(async () => {
    for (const id of client.runs.keys()) client.advance(id, 2);
    await new Promise((r) => setTimeout(r, 5));
  });
  return client;
}

describe('gradient check panel', () => {
  it('checks the selected ROSA run and shows the figures per layer and route', async () => {
    await withTrainedRuns();
    fireEvent.click(screen.getByRole('tab', { name: 'Retrieval' }));
    fireEvent.change(screen.getByLabelText('Flips per route'), { target: { value: '64' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Check gradient' })));
    const table = await screen.findByRole('table', { name: 'Gradient check' });
    const rows = within(table).getAllByRole('row');
    // Header, then q, k, v and the layer's total for each ROSA layer of the preset's model.
    expect(rows.length).toBeGreaterThan(4);
    const q = rows.find((r) => within(r).queryAllByRole('cell')[1]?.textContent === 'q')!;
    expect(q.textContent).toContain('64');
    expect(q.textContent).toContain('+0.50');
    expect(screen.getByText(/bits flipped in 10 forward passes/)).toBeTruthy();
    const descent = screen.getByRole('table', { name: 'Descent steps' });
    expect(within(descent).getAllByRole('row')[1].textContent).toContain('-0.0200');
  });

  it('refuses sequences outside 1 to 16 before asking the engine', async () => {
    await withTrainedRuns();
    fireEvent.click(screen.getByRole('tab', { name: 'Retrieval' }));
    fireEvent.change(screen.getByLabelText('Sequences'), { target: { value: '40' } });
    expect((screen.getByRole('button', { name: 'Check gradient' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/Sequences must be 1 to 16/)).toBeTruthy();
  });
});
