// Shared setup of the happy-dom page tests: the App over an in-process fake engine, the quick
// first preset in the address, and the clicks and steps that start and train runs.
// A test file calls disposePages() in afterEach so that no store or fake run outlives its test.

import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { createElement } from 'react';
import { expect } from 'vitest';
import { App } from '../../src/ui/App.tsx';
import { draftToHash } from '../../src/ui/config/url.ts';
import { preloadViews } from '../../src/ui/lazy-views.tsx';
import { applyPreset, PRESETS } from '../../src/ui/presets.ts';
import { MemoryStorage, type RunStorage } from '../../src/ui/state/persistence.ts';
import { createPlaygroundStore, type PlaygroundStore } from '../../src/ui/state/store.ts';
import { FakeTrainerClient } from './fake-client.ts';

/** The first preset (NIAH, window 16), shortened to 40 steps so that a test can finish its runs. */
export const QUICK_DRAFT = { ...applyPreset(PRESETS[0]), steps: '40', evalEvery: '10', lengthWarmup: '20' };
/** QUICK_DRAFT as the page's address. */
export const QUICK = draftToHash(QUICK_DRAFT);

export interface PageOptions<C extends FakeTrainerClient | null> {
  /** The engine; a new FakeTrainerClient when absent, none at all when null. */
  client?: C;
  /** Why there is no engine (with `client: null`). */
  clientError?: string;
  /** Where the runs are kept; a fresh MemoryStorage when absent. */
  storage?: RunStorage;
  /** The address the page opens with; empty (the default setup) when absent. */
  hash?: string;
}

export interface Page<C extends FakeTrainerClient | null> {
  store: PlaygroundStore;
  client: C;
  /** Every address the page wrote, in order. */
  hashes: string[];
}

const live: Array<{ store: PlaygroundStore; client: FakeTrainerClient | null }> = [];

/** Unmounts the pages and disposes their stores and engines; for afterEach. */
export function disposePages(): void {
  cleanup();
  for (const page of live.splice(0)) {
    page.store.getState().dispose();
    page.client?.dispose();
  }
}

/** Renders the App as a page without WebGPU, its store initialised and its lazy views loaded. */
export async function renderPage<C extends FakeTrainerClient | null = FakeTrainerClient>(
  options: PageOptions<C> = {},
): Promise<Page<C>> {
  // C is FakeTrainerClient when the option is absent (the default type argument).
  const client = (options.client === undefined ? new FakeTrainerClient() : options.client) as C;
  const store = createPlaygroundStore({
    client,
    clientError: options.clientError,
    storage: options.storage ?? new MemoryStorage(),
    scheduleFrame: (cb) => setTimeout(cb, 0),
    persistDelayMs: 5,
  });
  live.push({ store, client });
  await store.getState().init();
  // The tabs' code is loaded lazily; have it here so that a click shows the view at once.
  await preloadViews();
  const hashes: string[] = [];
  render(
    createElement(App, {
      store,
      openGpu: () => Promise.reject(new Error('navigator.gpu is missing (test page)')),
      initialHash: options.hash ?? '',
      writeHash: (h: string) => hashes.push(h),
    }),
  );
  return { store, client, hashes };
}

/**
 * Clicks the Start button named `label` once it is enabled and waits until the engine holds
 * `count` runs (any run when no count is given); returns the ids of the engine's runs.
 */
export async function startRuns(
  client: FakeTrainerClient,
  label: string | RegExp,
  count?: number,
): Promise<string[]> {
  const start = await screen.findByRole('button', { name: label });
  await waitFor(() => expect((start as HTMLButtonElement).disabled).toBe(false));
  await act(async () => fireEvent.click(start));
  await waitFor(() =>
    count === undefined ? expect(client.runs.size).toBeGreaterThan(0) : expect(client.runs.size).toBe(count),
  );
  return [...client.runs.keys()];
}

/**
 * Advances every run of the engine by `steps`, or each run named in a record by its own count,
 * then waits `settleMs` so that the page takes in the events.
 */
export async function advanceRuns(
  client: FakeTrainerClient,
  steps: number | Record<string, number>,
  settleMs = 5,
): Promise<void> {
  const counts =
    typeof steps === 'number'
      ? [...client.runs.keys()].map((id) => [id, steps] as const)
      : Object.entries(steps);
  await act(async () => {
    for (const [id, n] of counts) client.advance(id, n);
    await new Promise((r) => setTimeout(r, settleMs));
  });
}

/** A page on QUICK whose three runs have each trained 2 steps: enough for the views that query a model. */
export async function withTrainedRuns(): Promise<FakeTrainerClient> {
  const { client } = await renderPage({ hash: QUICK });
  await startRuns(client, 'Start 3 runs', 3);
  await advanceRuns(client, 2);
  return client;
}
