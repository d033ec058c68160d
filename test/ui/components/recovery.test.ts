// @vitest-environment happy-dom
// The page after a lost GPU device (a banner that resumes the stopped runs) and after a reload
// (an interrupted run offers Resume), against the in-process fake engine.

import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { draftToHash } from '../../../src/ui/config/url.ts';
import { MemoryStorage, type RunStorage } from '../../../src/ui/state/persistence.ts';
import type { PlaygroundStore } from '../../../src/ui/state/store.ts';
import { FakeTrainerClient } from '../fake-client.ts';
import { advanceRuns, disposePages, QUICK_DRAFT, renderPage, startRuns } from '../harness.ts';

afterEach(disposePages);

/** The quick comparison, saving a checkpoint every 5 steps. */
const CHECKPOINTED = draftToHash({ ...QUICK_DRAFT, checkpointEvery: '5' });

async function page(client: FakeTrainerClient, storage?: RunStorage): Promise<PlaygroundStore> {
  return (await renderPage({ client, storage, hash: CHECKPOINTED })).store;
}

async function startAndTrain(client: FakeTrainerClient, steps: number): Promise<string[]> {
  const ids = await startRuns(client, 'Start 3 runs', 3);
  await advanceRuns(client, steps);
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
