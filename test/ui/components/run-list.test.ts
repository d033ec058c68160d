// @vitest-environment happy-dom
// The runs table: sorted by a column, filtered by text, and the settings that differ between
// the ticked runs; and repeats over seeds from the form to the curves and the results table.

import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { advanceRuns, disposePages, QUICK, renderPage, startRuns } from '../harness.ts';

afterEach(disposePages);

const runsCard = () => screen.getByRole('region', { name: 'Runs' });
const cardNames = () =>
  within(runsCard())
    .getAllByTestId('run-card')
    .map((c) => c.getAttribute('aria-label'));

describe('runs table', () => {
  it('sorts by a column, both ways, and follows new metrics', async () => {
    const { client } = await renderPage({ hash: QUICK });
    await startRuns(client, 'Start 3 runs', 3);
    const [global, window, rosa] = ['global', 'window', 'window+rosa'].map(
      (v) => [...client.runs.keys()].find((id) => id.endsWith(`/${v}`))!,
    );
    await advanceRuns(client, { [global]: 30, [window]: 10, [rosa]: 20 }, 10);
    // Grouped by experiment, variants in their usual order.
    expect(cardNames()).toEqual(['E1 global', 'E1 window', 'E1 window+rosa']);

    const sortBy = within(runsCard()).getByRole('combobox', { name: 'Sort runs by' });
    fireEvent.change(sortBy, { target: { value: 'loss' } });
    // Lowest loss first: global (30 steps), ROSA (20), window (floor 2.0).
    expect(cardNames()).toEqual(['E1 global', 'E1 window+rosa', 'E1 window']);
    fireEvent.click(within(runsCard()).getByRole('button', { name: /sort descending/ }));
    expect(cardNames()).toEqual(['E1 window', 'E1 window+rosa', 'E1 global']);

    fireEvent.change(sortBy, { target: { value: 'step' } });
    expect(cardNames()).toEqual(['E1 global', 'E1 window+rosa', 'E1 window']);
    // The window run overtakes the others: the order follows.
    await advanceRuns(client, { [window]: 25 }, 10);
    expect(cardNames()).toEqual(['E1 window', 'E1 global', 'E1 window+rosa']);

    fireEvent.change(sortBy, { target: { value: 'name' } });
    expect(cardNames()).toEqual(['E1 global', 'E1 window', 'E1 window+rosa']);
  });

  it('hides the runs the filter does not match (name, variant, status)', async () => {
    const { client } = await renderPage({ hash: QUICK });
    await startRuns(client, 'Start 3 runs', 3);
    const global = [...client.runs.keys()].find((id) => id.endsWith('/global'))!;
    await advanceRuns(client, { [global]: 40 }, 10);
    const filter = within(runsCard()).getByRole('searchbox', { name: 'Filter runs' });

    fireEvent.change(filter, { target: { value: 'ROSA' } });
    expect(cardNames()).toEqual(['E1 window+rosa']);
    fireEvent.change(filter, { target: { value: 'finished' } });
    expect(cardNames()).toEqual(['E1 global']);
    fireEvent.change(filter, { target: { value: 'e1 window' } });
    expect(cardNames()).toEqual(['E1 window', 'E1 window+rosa']);
    fireEvent.change(filter, { target: { value: 'nosuch' } });
    expect(within(runsCard()).queryAllByTestId('run-card')).toHaveLength(0);
    expect(within(runsCard()).getByText(/No run matches/)).toBeTruthy();
    fireEvent.change(filter, { target: { value: '' } });
    expect(cardNames()).toHaveLength(3);
  });

  it('shows which settings differ between the ticked runs', async () => {
    const { client } = await renderPage({ hash: QUICK });
    await startRuns(client, 'Start 3 runs', 3);
    fireEvent.change(screen.getByLabelText('Window W'), { target: { value: '8' } });
    await startRuns(client, 'Start 3 runs', 6);

    // One run ticked: nothing to compare yet.
    fireEvent.click(within(runsCard()).getByRole('checkbox', { name: 'Compare E1 window' }));
    expect(within(runsCard()).queryByRole('table', { name: 'Settings that differ' })).toBeNull();
    fireEvent.click(within(runsCard()).getByRole('checkbox', { name: 'Compare E2 window' }));
    const table = within(runsCard()).getByRole('table', { name: 'Settings that differ' });
    const rows = within(table).getAllByRole('row');
    expect(rows[0].textContent).toBe('settingE1 windowE2 window');
    // Only the window differs between the two experiments.
    expect(rows).toHaveLength(2);
    expect(rows[1].textContent).toBe('Window W168');
    expect(rows[1].getAttribute('data-path')).toBe('model.window');

    // Runs of different variants of one experiment differ in the variant, and in no setting
    // that applies to one of them only.
    fireEvent.click(within(runsCard()).getByRole('button', { name: 'Clear selection' }));
    fireEvent.click(within(runsCard()).getByRole('checkbox', { name: 'Compare E1 global' }));
    fireEvent.click(within(runsCard()).getByRole('checkbox', { name: 'Compare E1 window+rosa' }));
    const paths = within(within(runsCard()).getByRole('table', { name: 'Settings that differ' }))
      .getAllByRole('row')
      .slice(1)
      .map((r) => r.getAttribute('data-path'));
    expect(paths).toEqual(['model.variant']);
  });
});

describe('repeats over seeds on the page', () => {
  it('starts every variant per seed and shows the mean with a min–max band and mean ± spread', async () => {
    const { client } = await renderPage({ hash: QUICK });
    fireEvent.change(screen.getByLabelText('Repeats (seeds)'), { target: { value: '2' } });
    await startRuns(client, 'Start 6 runs', 6);
    const ids = [...client.runs.keys()];
    expect(
      ids.filter((id) => id.includes('/global/')).map((id) => client.runs.get(id)!.spec.train.seed),
    ).toEqual([1, 2]);
    // The seeds of each variant at different steps, so that they differ.
    await advanceRuns(client, Object.fromEntries(ids.map((id) => [id, id.endsWith('seed-1') ? 10 : 30])), 10);

    await waitFor(() => expect(screen.getAllByTestId('seed-band').length).toBeGreaterThan(0));
    // Loss and accuracy, training and validation, for each of the three variants.
    expect(screen.getAllByTestId('seed-band')).toHaveLength(12);
    const rows = () => within(screen.getByRole('table', { name: 'Latest numbers' })).getAllByRole('row');
    expect(rows()).toHaveLength(4);
    expect(rows()[0].textContent).toContain('seeds');
    const global = () => rows().find((r) => r.textContent?.startsWith(' E1 global'))!;
    // The table follows the metrics about once a second.
    await waitFor(() => expect(global().textContent).toMatch(/±/), { timeout: 3000 });
    expect(global().lastElementChild!.textContent).toBe('2');
    expect(screen.getByText(/NIAH .* seeds 1–2/)).toBeTruthy();
  });
});
