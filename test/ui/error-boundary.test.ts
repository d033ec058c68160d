// @vitest-environment happy-dom
// A poisoned entry in the stored runs (IndexedDB) must not blank the page: the views that
// cannot render it say so with a retry, and everything else keeps working.

import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IndexedDbStorage } from '../../src/ui/state/persistence.ts';
import type { RunRecord } from '../../src/ui/state/types.ts';
import { tinySpec } from '../gpu/checkpoint/fixtures/tiny.ts';
import { disposePages, QUICK, renderPage, startRuns } from './harness.ts';
import { FakeIndexedDb } from './state/fake-indexeddb.ts';

afterEach(() => {
  disposePages();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('error boundaries', () => {
  it('a poisoned stored run leaves the rest of the page usable', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const idb = new FakeIndexedDb();
    const storage = new IndexedDbStorage(idb.asFactory());
    // Written by an older or broken build: a run whose spec has no model.
    const poisoned = {
      id: 'poisoned',
      experimentId: 'e0',
      spec: { id: 'poisoned', name: 'poisoned' },
      status: 'finished',
      step: 3,
      totalSteps: 10,
      createdAt: 1,
      updatedAt: 1,
      rate: {},
    } as unknown as RunRecord;
    await storage.putRun(poisoned);

    const { client } = await renderPage({ storage: new IndexedDbStorage(idb.asFactory()), hash: QUICK });
    // The views that read the poisoned run fail on their own, with a retry.
    const failures = await screen.findAllByTestId('view-error');
    expect(failures.length).toBeGreaterThan(0);
    expect(screen.getAllByText(/could not be shown/).length).toBe(failures.length);
    await act(async () => fireEvent.click(screen.getAllByRole('button', { name: 'Try again' })[0]));

    // Every tab can still be opened; Device and Checkpoints work.
    await act(async () => fireEvent.click(screen.getByRole('tab', { name: 'Device' })));
    expect(await screen.findByTestId('adapter-vendor')).toBeTruthy();
    await act(async () => fireEvent.click(screen.getByRole('tab', { name: 'Checkpoints' })));
    expect(await screen.findByRole('heading', { name: 'Checkpoints' })).toBeTruthy();
    await act(async () => fireEvent.click(screen.getByRole('tab', { name: 'Curves' })));
    // The Curves view colours runs by variant, so it fails here; it offers a way out.
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Open Device' })));
    expect(screen.getByRole('tab', { name: 'Device' }).getAttribute('aria-selected')).toBe('true');

    // New runs can still be started.
    await startRuns(client, 'Start 3 runs', 3);
  });

  it('lists an unreadable checkpoint with its problem and lets it be deleted', async () => {
    vi.stubGlobal('confirm', () => true);
    const idb = new FakeIndexedDb();
    const { client } = await renderPage({ storage: new IndexedDbStorage(idb.asFactory()), hash: QUICK });
    const files = { weights: new Uint8Array(0), manifest: '' };
    client.checkpoints.set('torn', {
      info: {
        key: 'torn',
        runId: '',
        name: 'torn',
        step: 0,
        savedAt: '',
        bytes: 0,
        variant: '',
        problem: 'torn.json: the manifest is not valid JSON',
      },
      spec: tinySpec('torn'),
      files,
    });
    await act(async () => fireEvent.click(screen.getByRole('tab', { name: 'Checkpoints' })));
    expect(await screen.findByText(/Unreadable: torn\.json: the manifest is not valid JSON/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load' })).toBeNull();
    await act(async () =>
      fireEvent.click(screen.getByRole('button', { name: 'Delete unreadable checkpoint torn' })),
    );
    await waitFor(() => expect(client.checkpoints.has('torn')).toBe(false));
    await waitFor(() => expect(screen.queryByText(/Unreadable/)).toBeNull());
  });
});
