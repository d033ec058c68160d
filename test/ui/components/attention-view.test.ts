// @vitest-environment happy-dom
// The attention view under the retrieval heatmap, against the in-process fake engine.

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

describe('attention view', () => {
  it('shows each head of the same sample and layer under the retrievals, with its weight on them', async () => {
    const client = await withTrainedRuns();
    fireEvent.click(screen.getByRole('tab', { name: 'Retrieval' }));
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Show retrievals' })));
    const view = await screen.findByTestId('attention-view');
    const asked = client.calls.filter((c) => c.startsWith('attention '));
    expect(asked).toHaveLength(1);
    expect(within(view).getAllByRole('img')).toHaveLength(2);
    const rows = within(within(view).getByRole('table', { name: 'Attention heads' })).getAllByRole('row');
    // Fake: head 0 attends to t − 1, which ROSA's route 1 retrieves at every t ≥ 1; head 1 spreads
    // over a window of 4, where t − 1 gets 1/2, 1/3, then 1/4.
    expect(rows[1].textContent).toContain('100.0%');
    expect(rows[2].textContent).toContain(`${((100 * (1 / 2 + 1 / 3 + 13 / 4)) / 15).toFixed(1)}%`);
    fireEvent.change(within(view).getByLabelText('Attention query position'), { target: { value: '9' } });
    const detail = within(view).getByTestId('attention-detail');
    expect(detail.textContent).toContain('Query t = 9');
    expect(detail.textContent).toContain('head 0: 8 (');
  });
});
