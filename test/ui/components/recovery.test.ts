// @vitest-environment happy-dom
// The page after a lost GPU device (a banner that resumes the stopped runs) and after a reload
// (an interrupted run offers Resume), against the in-process fake engine.

import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../../src/ui/App.tsx';
import { draftToHash } from '../../../src/ui/config/url.ts';
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

const QUICK = {
  ...applyPreset(PRESETS[0]),
  steps: '40',
  evalEvery: '10',
  lengthWarmup: '20',
  checkpointEvery: '5',
};

async function page(client: FakeTrainerClient, storage = new MemoryStorage()): Promise<PlaygroundStore> {
  const store = createPlaygroundStore({
    client,
    storage,
    scheduleFrame: (cb) => setTimeout(cb, 0),
    persistDelayMs: 5,
  });
  live.push({ store, client });
  await store.getState().init();
  render(
    createElement(App, {
      store,
      openGpu: () => Promise.reject(new Error('navigator.gpu is missing (test page)')),
      initialHash: draftToHash(QUICK),
      writeHash: () => {},
    }),
  );
  return store;
}

async function startAndTrain(client: FakeTrainerClient, steps: number): Promise<string[]> {
  const start = await screen.findByRole('button', { name: 'Start 3 runs' });
  await waitFor(() => expect((start as HTMLButtonElement).disabled).toBe(false));
  await act(async () => fireEvent.click(start));
  await waitFor(() => expect(client.runs.size).toBe(3));
  const ids = [...client.runs.keys()];
  await act(async () => {
    for (const id of ids) client.advance(id, steps);
    await new Promise((r) => setTimeout(r, 5));
  });
  return ids;
}

describe('recovery in the page', () => {
  it('a lost GPU device: a banner names the stopped runs and resumes them with one click', async () => {
    const client = new FakeTrainerClient();
    const store = await page(client);
    const ids = await startAndTrain(client, 7);
    expect(screen.queryByTestId('recovery-banner')).toBeNull();
    await act(async () => {
      client.loseDevice(ids.slice(0, 2));
      await new Promise((r) => setTimeout(r, 5));
    });
    const banner = await screen.findByTestId('recovery-banner');
    const names = ids.slice(0, 2).map((id) => store.getState().runs[id].spec.name);
    for (const name of names) expect(banner.textContent).toContain(`${name} (step 5)`);
    await act(async () => {
      fireEvent.click(within(banner).getByRole('button', { name: 'Resume all 2' }));
      await new Promise((r) => setTimeout(r, 5));
    });
    await waitFor(() => expect(screen.queryByTestId('recovery-banner')).toBeNull());
    for (const id of ids.slice(0, 2))
      expect(client.runs.get(id)).toMatchObject({ status: 'running', step: 5 });
  });

  it('a reload: an interrupted run with a checkpoint offers Resume, which trains on from it', async () => {
    const storage = new MemoryStorage();
    const first = new FakeTrainerClient();
    const before = await page(first, storage);
    const ids = await startAndTrain(first, 12);
    await before.getState().persistNow();
    cleanup();

    // The reloaded page's engine holds no runs but finds their checkpoints.
    const engine = new FakeTrainerClient();
    for (const [key, c] of first.checkpoints) engine.checkpoints.set(key, c);
    await page(engine, storage);
    const resume = await screen.findAllByRole('button', { name: 'Resume (from step 10)' });
    expect(resume).toHaveLength(3);
    await act(async () => {
      fireEvent.click(resume[0]);
      await new Promise((r) => setTimeout(r, 5));
    });
    expect(engine.calls).toContain(`resume ${ids[0]}`);
    expect(engine.runs.get(ids[0])).toMatchObject({ status: 'running', step: 10 });
    await waitFor(() =>
      expect(screen.getAllByRole('button', { name: 'Resume (from step 10)' })).toHaveLength(2),
    );
  });
});
