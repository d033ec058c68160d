// @vitest-environment happy-dom
// The page driven like a user would, against the in-process fake engine.

import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/ui/presets.ts';
import { MemoryStorage } from '../../src/ui/state/persistence.ts';
import { FakeTrainerClient } from './fake-client.ts';
import { advanceRuns, disposePages, QUICK, renderPage, startRuns } from './harness.ts';

function isDisabled(el: HTMLElement): boolean {
  return (el as HTMLButtonElement).disabled;
}

afterEach(disposePages);

describe('first visit', () => {
  it('shows how to start, the engine device, and the first preset ready to start', async () => {
    await renderPage();
    expect(screen.getByRole('heading', { name: 'Getting started' })).toBeTruthy();
    expect(screen.getByRole('tab', { name: 'Device' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getByTestId('adapter-vendor').textContent).toBe('fakevendor');
    expect(screen.getByTestId('worker-count').textContent).toBe('2');
    expect(screen.getByTestId('shared-memory').textContent).toMatch(/yes/);
    expect(screen.getByTestId('isolation').textContent).toBe('false');
    expect(screen.getAllByText('maxStorageBufferBindingSize')).toHaveLength(1);
    expect(screen.getByRole('button', { name: PRESETS[0].name }).className).toContain('chip-on');
    expect(isDisabled(screen.getByRole('button', { name: 'Start 3 runs' }))).toBe(false);
    expect(screen.getByTestId('engine-pill').textContent).toMatch(
      /engine ready · 2 ROSA workers \(shared memory\)/,
    );
    expect(screen.getByText(/No runs yet/)).toBeTruthy();
  });

  it('explains a missing engine and keeps Start disabled', async () => {
    await renderPage({
      client: null,
      clientError: 'The training engine is not available yet in this build.',
    });
    expect(screen.getAllByText(/not available yet in this build/).length).toBeGreaterThan(0);
    const start = screen.getByRole('button', { name: 'Start 3 runs' });
    expect(isDisabled(start)).toBe(true);
    expect(screen.getByTestId('start-blocker').textContent).toMatch(/Training is not available/);
    // Without engine or page WebGPU, the device panel says why.
    await waitFor(() =>
      expect(screen.getByTestId('webgpu-error').textContent).toMatch(/navigator.gpu is missing/),
    );
  });
});

describe('setup validation', () => {
  it('shows each field message next to the field and disables Start while invalid', async () => {
    await renderPage();
    const width = screen.getByLabelText('Width');
    fireEvent.change(width, { target: { value: 'abc' } });
    expect(await screen.findByText('Width must be a number (got "abc")')).toBeTruthy();
    expect(width.getAttribute('aria-invalid')).toBe('true');
    expect(isDisabled(screen.getByRole('button', { name: 'Start 3 runs' }))).toBe(true);
    expect(screen.getByTestId('start-blocker').textContent).toMatch(/Fix the fields marked in red/);

    fireEvent.change(width, { target: { value: '66' } });
    expect(await screen.findByText('ROSA bits must divide width 66 (got 8)')).toBeTruthy();
    fireEvent.change(width, { target: { value: '64' } });
    await waitFor(() => expect(screen.queryAllByTestId('field-error')).toHaveLength(0));
    expect(isDisabled(screen.getByRole('button', { name: 'Start 3 runs' }))).toBe(false);
  });

  it('checks model size against the device limits', async () => {
    await renderPage();
    fireEvent.change(screen.getByLabelText('Sequence length'), { target: { value: '60000' } });
    expect(
      await screen.findByText(/Sequence length needs a \d+ MiB buffer but this device allows 128 MiB/),
    ).toBeTruthy();
  });

  it('keeps the setup in the address and explains a bad link instead of crashing', async () => {
    const { hashes } = await renderPage({ hash: '#task=banana&variants=window,warp&layers=0&lr=fast' });
    expect(screen.getByText(/The link has settings this page does not understand/)).toBeTruthy();
    expect(screen.getAllByText(/"banana", which is not one of/).length).toBeGreaterThan(0);
    expect(screen.getAllByText(/unknown variant\(s\) "warp"/).length).toBeGreaterThan(0);
    expect(screen.getByText('Layers must be a whole number from 1 to 64 (got 0)')).toBeTruthy();
    expect(screen.getByText('Learning rate must be a number (got "fast")')).toBeTruthy();
    expect(isDisabled(screen.getByRole('button', { name: 'Start 1 run' }))).toBe(true);

    fireEvent.change(screen.getByLabelText('Layers'), { target: { value: '3' } });
    await waitFor(() => expect(hashes.at(-1)).toContain('layers=3'));
    expect(screen.queryByText(/The link has settings/)).toBeNull();
  });

  it('applies a preset and shows task-specific fields', async () => {
    await renderPage();
    fireEvent.click(screen.getByRole('button', { name: 'MQAR: associative recall' }));
    expect((screen.getByLabelText('Key–value pairs') as HTMLInputElement).value).toBe('8');
    expect(screen.queryByLabelText('Key digits')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Moby Dick char LM' }));
    expect((screen.getByLabelText('Task') as HTMLSelectElement).value).toBe('text');
  });

  it('keeps "More settings" open after its last error is fixed', async () => {
    await renderPage();
    const details = document.querySelector('details.advanced') as HTMLDetailsElement;
    expect(details.open).toBe(false);
    fireEvent.change(screen.getByLabelText('Batch size'), { target: { value: '0' } });
    await waitFor(() => expect(details.open).toBe(true));
    fireEvent.change(screen.getByLabelText('Batch size'), { target: { value: '8' } });
    await act(async () => {});
    expect(details.open).toBe(true);
  });

  it('takes the user text as text, never as markup', async () => {
    await renderPage();
    fireEvent.change(screen.getByLabelText('Task'), { target: { value: 'text' } });
    fireEvent.click(screen.getByLabelText('Your own text'));
    expect(await screen.findByText('Text is empty: paste or upload a text')).toBeTruthy();
    const markup = '<img src=x onerror="alert(1)"><b>bold</b> '.repeat(100);
    fireEvent.change(screen.getByLabelText('Your text'), { target: { value: markup } });
    expect(document.querySelector('img')).toBeNull();
    expect(document.querySelector('b')).toBeNull();
    expect((screen.getByLabelText('Your text') as HTMLTextAreaElement).value).toBe(markup);
  });
});

describe('running a comparison', () => {
  it('starts one run per variant; progress, ETA, speed, step time and curves appear', async () => {
    const { client, store } = await renderPage({ hash: QUICK });
    const ids = await startRuns(client, 'Start 3 runs', 3);
    expect(screen.getByRole('tab', { name: 'Curves' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getAllByTestId('run-card')).toHaveLength(3);

    await advanceRuns(client, 5);
    await advanceRuns(client, 5);
    await waitFor(() => expect(screen.getAllByText('step 10 / 40 · 25%')).toHaveLength(3));
    const bars = screen.getAllByRole('progressbar');
    expect(bars.map((b) => b.getAttribute('aria-valuenow'))).toEqual(['25', '25', '25']);
    expect(screen.getAllByTestId('run-eta')[0].textContent).toMatch(/^ETA /);
    expect(screen.getAllByText('5.0k tok/s')).toHaveLength(3);
    expect(screen.getAllByRole('img', { name: 'step time 10.0 ms' })).toHaveLength(3);

    // Curves: a chart per metric and the latest numbers of every run.
    await waitFor(() => expect(screen.getByRole('region', { name: 'Loss' })).toBeTruthy());
    expect(screen.getByRole('region', { name: 'Accuracy' })).toBeTruthy();
    // The table follows the data at most once a second.
    const latest = () => within(screen.getByRole('table', { name: 'Latest numbers' })).getAllByRole('row');
    expect(latest()).toHaveLength(4);
    await waitFor(() => expect(latest()[1].textContent).toMatch(/^ E1 global10\d/), { timeout: 3000 });
    // val loss from the eval at step 9
    const run = store.getState().runs[ids[0]];
    expect(store.getState().series[run.id].eval).toHaveLength(1);

    await advanceRuns(client, 30);
    await waitFor(() => expect(screen.getAllByText('finished')).toHaveLength(3));
    expect(screen.getAllByText('step 40 / 40 · 100%')).toHaveLength(3);
  });

  it('hides and shows runs on the charts', async () => {
    const { client, store } = await renderPage({ hash: QUICK });
    const ids = await startRuns(client, 'Start 3 runs', 3);
    await advanceRuns(client, 3);
    const chips = screen.getByRole('group', { name: 'Runs shown' });
    fireEvent.click(within(chips).getByLabelText('E1 window'));
    expect(store.getState().hidden[ids.find((i) => i.endsWith('/window'))!]).toBe(true);
    await waitFor(() =>
      expect(within(screen.getByRole('table', { name: 'Latest numbers' })).getAllByRole('row')).toHaveLength(
        3,
      ),
    );
  });

  it('pauses, resumes and stops a run', async () => {
    const { client } = await renderPage({ hash: QUICK });
    const ids = await startRuns(client, 'Start 3 runs', 3);
    await advanceRuns(client, 2);
    const card = screen
      .getAllByTestId('run-card')
      .find((c) => c.getAttribute('aria-label') === 'E1 window+rosa')!;
    const id = ids.find((i) => i.endsWith('/window+rosa'))!;
    await act(async () => fireEvent.click(within(card).getByRole('button', { name: 'Pause' })));
    await waitFor(() => expect(within(card).getByTestId('run-status').textContent).toBe('paused'));
    await act(async () => fireEvent.click(within(card).getByRole('button', { name: 'Resume' })));
    await waitFor(() => expect(within(card).getByTestId('run-status').textContent).toBe('running'));
    await act(async () => fireEvent.click(within(card).getByRole('button', { name: 'Stop' })));
    await waitFor(() => expect(within(card).getByTestId('run-status').textContent).toBe('stopped'));
    expect(client.calls.filter((c) => c.endsWith(id))).toEqual([
      `start ${id}`,
      `pause ${id}`,
      `resume ${id}`,
      `stop ${id}`,
    ]);
    expect(within(card).queryByRole('button', { name: 'Pause' })).toBeNull();
  });

  it('shows the engine message when it refuses a run', async () => {
    const client = new FakeTrainerClient();
    client.start = async (spec) => {
      throw new Error(`${spec.model.variant}: out of GPU memory`);
    };
    await renderPage({ client, hash: QUICK });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Start 3 runs' })));
    await waitFor(() => expect(screen.getAllByText('failed')).toHaveLength(3));
    expect(screen.getAllByText(/out of GPU memory/).length).toBeGreaterThanOrEqual(3);
  });
});

describe('after a reload', () => {
  it('shows earlier runs and curves; active runs are interrupted with their checkpoint offered', async () => {
    const storage = new MemoryStorage();
    const first = await renderPage({
      storage,
      hash: `${QUICK.replace('checkpointEvery=0', 'checkpointEvery=5')}`,
    });
    const ids = await startRuns(first.client, 'Start 3 runs', 3);
    await advanceRuns(first.client, 7);
    await act(async () => {
      await first.store.getState().persistNow();
    });
    cleanup();

    const second = await renderPage({ storage, hash: QUICK });
    expect(screen.getByRole('tab', { name: 'Curves' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getAllByText('interrupted')).toHaveLength(3);
    expect(screen.getAllByText(/Press Resume to continue from its checkpoint at step 5/)).toHaveLength(3);
    const rows = within(screen.getByRole('table', { name: 'Latest numbers' })).getAllByRole('row');
    expect(rows).toHaveLength(4);
    // The old engine's checkpoints are not in the new fake engine, so resuming fails with its message.
    const card = screen.getAllByTestId('run-card')[0];
    await act(async () =>
      fireEvent.click(within(card).getByRole('button', { name: 'Resume (from step 5)' })),
    );
    expect(await screen.findByText(/Could not resume .*: .*no checkpoint of it was saved/)).toBeTruthy();
    expect(second.store.getState().runOrder).toEqual(ids);
  });
});

describe('retrieval inspector', () => {
  it('draws the heatmap data, its window statistics and the contexts of a query', async () => {
    const { client } = await renderPage({ hash: QUICK });
    await startRuns(client, 'Start 3 runs', 3);
    await advanceRuns(client, 2);
    await advanceRuns(client, 8);
    fireEvent.click(screen.getByRole('tab', { name: 'Retrieval' }));
    // Whether ROSA retrieves the needle, over training, from the run's evaluations.
    const hits = await screen.findByRole('table', { name: 'Retrievals landing on the needle' });
    expect(hits.textContent).toContain('layer 0');
    expect(hits.textContent).toContain('50.0%');
    // Every run is offered (the others for their attention only); the ROSA run is chosen.
    const runSelect = screen.getByLabelText('Run') as HTMLSelectElement;
    expect([...runSelect.options].map((o) => o.textContent)).toEqual([
      'E1 global (running, attention only)',
      'E1 window (running, attention only)',
      'E1 window+rosa (running)',
    ]);
    expect(runSelect.selectedOptions[0].textContent).toBe('E1 window+rosa (running)');
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Show retrievals' })));
    const stats = await screen.findByTestId('retrieval-stats');
    // fake map: T = 16, route 0 retrieves t−8 (t ≥ 8), route 1 retrieves t−1; window 4
    expect(stats.textContent).toContain('15 of 16 query positions retrieved something');
    expect(stats.textContent).toContain('35% of 23 retrievals lie beyond the attention window (W = 4)');
    expect(screen.getByRole('img', { name: /query position by retrieved position/ })).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Query position'), { target: { value: '10' } });
    const detail = screen.getByTestId('retrieval-detail');
    expect(detail.textContent).toContain('Query t = 10');
    expect(detail.textContent).toContain('Attention sees positions 7 … 10.');
    expect(detail.textContent).toContain('→ position 9');
    expect(detail.textContent).toContain('inside the window');
    expect(detail.textContent).toContain('→ position 2');
    expect(detail.textContent).toContain('beyond the window, 8 back');

    fireEvent.change(screen.getByLabelText('Route'), { target: { value: '1' } });
    expect(screen.getByTestId('retrieval-stats').textContent).toContain('0% of 15 retrievals lie beyond');
  });

  it('explains what to do when there is no run', async () => {
    await renderPage();
    fireEvent.click(screen.getByRole('tab', { name: 'Retrieval' }));
    expect(screen.getByText('No runs yet')).toBeTruthy();
  });
});

describe('interactive NIAH', () => {
  it('asks every trained model and shows answers, correctness and where retrieval looked', async () => {
    const { client } = await renderPage({ hash: QUICK });
    await startRuns(client, 'Start 3 runs', 3);
    await advanceRuns(client, 3);
    fireEvent.click(screen.getByRole('tab', { name: 'NIAH' }));
    fireEvent.change(screen.getByLabelText('Key (digits)'), { target: { value: '42' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Ask 3 models' })));
    const answers = await screen.findAllByTestId('niah-answer');
    expect(answers).toHaveLength(3);
    const by = (name: string) => answers.find((a) => a.getAttribute('aria-label') === `Answer of ${name}`)!;
    expect(by('E1 window+rosa').textContent).toContain('answered 42');
    expect(by('E1 window+rosa').textContent).toContain('✓ right');
    expect(by('E1 window').textContent).toContain('answered 53');
    expect(by('E1 window').textContent).toContain('✗ wrong (key 42)');
    expect(within(by('E1 window+rosa')).getByTestId('arc-summary').textContent).toBe(
      '4 of 4 retrievals from the answer land on the needle.',
    );
    expect(within(by('E1 global')).getByTestId('arc-summary').textContent).toMatch(/No ROSA retrievals/);
  });

  it('validates the key and runs the accuracy grid per run', async () => {
    const { client } = await renderPage({ hash: QUICK });
    await startRuns(client, 'Start 3 runs', 3);
    await advanceRuns(client, 3);
    fireEvent.click(screen.getByRole('tab', { name: 'NIAH' }));
    fireEvent.change(screen.getByLabelText('Key (digits)'), { target: { value: '4x' } });
    expect(screen.getByText('Key must be 1 to 8 digits')).toBeTruthy();
    expect(isDisabled(screen.getByRole('button', { name: 'Ask 3 models' }))).toBe(true);

    fireEvent.change(screen.getByLabelText('Context lengths'), { target: { value: '64, 256' } });
    fireEvent.change(screen.getByLabelText('Depths'), { target: { value: '0, 1' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Run grid' })));
    const window = await screen.findByRole('table', { name: 'NIAH accuracy of E1 window' });
    await screen.findByRole('table', { name: 'NIAH accuracy of E1 window+rosa' });
    const cells = within(window)
      .getAllByRole('cell')
      .map((c) => c.textContent);
    // depth 0 at length 256 is beyond the window of 32 → the fake answers 10%
    expect(cells).toEqual(['10%', '10%', '100%', '100%']);
  });
});

describe('checkpoints', () => {
  it('saves, lists, loads and shows the engine message for a malformed upload', async () => {
    const { client, store } = await renderPage({ hash: QUICK });
    const ids = await startRuns(client, 'Start 3 runs', 3);
    await advanceRuns(client, 4);
    fireEvent.click(screen.getByRole('tab', { name: 'Checkpoints' }));
    expect(await screen.findByText(/No checkpoints yet/)).toBeTruthy();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Save checkpoint' })));
    const table = await screen.findByRole('table', { name: 'Checkpoints' });
    expect(within(table).getAllByRole('row')).toHaveLength(2);
    expect(within(table).getByText('E1 window+rosa')).toBeTruthy();

    await act(async () => fireEvent.click(within(table).getByRole('button', { name: 'Load' })));
    expect(await screen.findByText(/is loaded as a paused run/)).toBeTruthy();
    // The engine brings the run back under its own id, paused at the checkpoint's step.
    const id = ids.find((i) => i.endsWith('/window+rosa'))!;
    await waitFor(() => expect(store.getState().runs[id]).toMatchObject({ status: 'paused', step: 4 }));
    expect(store.getState().runOrder).toHaveLength(3);

    const weights = new File([new Uint8Array(16)], 'w.safetensors');
    const manifest = new File(['{not json'], 'w.json', { type: 'application/json' });
    fireEvent.change(screen.getByLabelText('Weights file'), { target: { files: [weights] } });
    fireEvent.change(screen.getByLabelText('Manifest file'), { target: { files: [manifest] } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Import' })));
    expect((await screen.findByTestId('upload-error')).textContent).toBe(
      'The engine refused these files: The manifest is not valid JSON',
    );
  });
});

describe('how ROSA works', () => {
  it('opens over the current tab, runs the scan on typed text, and gives way when a run starts', async () => {
    const { client } = await renderPage({ hash: QUICK });
    fireEvent.click(screen.getByRole('tab', { name: 'How ROSA works' }));
    expect(screen.getByRole('tab', { name: 'How ROSA works' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getByRole('tab', { name: 'Device' }).getAttribute('aria-selected')).toBe('false');
    fireEvent.change(screen.getByLabelText('Your text'), { target: { value: 'abcab' } });
    // The last "b" repeats "ab" (positions 0–1) and reads position 2.
    expect(screen.getByTestId('rosa-selected').textContent).toMatch(
      /retrieves from position 2 \(“c”\), after a match of 2 characters “ab” at positions 0–1/,
    );
    await startRuns(client, 'Start 3 runs', 3);
    await waitFor(() =>
      expect(screen.getByRole('tab', { name: 'Curves' }).getAttribute('aria-selected')).toBe('true'),
    );
    expect(screen.queryByTestId('rosa-selected')).toBeNull();
  });
});
