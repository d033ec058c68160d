// @vitest-environment happy-dom
// The attention view under the retrieval heatmap, against the in-process fake engine; for runs
// (and layers) without ROSA, the attention view alone.

import { act, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { draftToHash } from '../../../src/ui/config/url.ts';
import {
  advanceRuns,
  disposePages,
  QUICK_DRAFT,
  renderPage,
  startRuns,
  withTrainedRuns,
} from '../harness.ts';

afterEach(disposePages);

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

  it('shows the attention heads of a run without ROSA, saying it has no retrievals', async () => {
    const client = await withTrainedRuns();
    fireEvent.click(screen.getByRole('tab', { name: 'Retrieval' }));
    const window = [...(screen.getByLabelText('Run') as HTMLSelectElement).options].find((o) =>
      o.textContent?.startsWith('E1 window ('),
    )!;
    fireEvent.change(screen.getByLabelText('Run'), { target: { value: window.value } });
    expect(screen.getByTestId('no-retrievals-note').textContent).toBe(
      'E1 window has no ROSA layers (window), so it has no retrievals: only the attention heads of the layer are shown.',
    );
    // No retrievals to ask for, no routes, no gradient check of ROSA.
    expect(screen.queryByRole('button', { name: 'Show retrievals' })).toBeNull();
    expect((screen.getByLabelText('Route') as HTMLSelectElement).disabled).toBe(true);
    expect(screen.queryByRole('button', { name: 'Check gradient' })).toBeNull();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Show attention' })));
    const view = await screen.findByTestId('attention-view');
    expect(client.calls.filter((c) => c.startsWith('attention '))).toEqual([`attention ${window.value} 0`]);
    expect(within(view).getAllByRole('img')).toHaveLength(2);
    expect(within(view).queryByText('ROSA retrieved')).toBeNull();
    expect(screen.queryByTestId('retrieval-stats')).toBeNull();
    // Back on the ROSA run, the window run's heads are not shown under its name.
    const rosa = [...(screen.getByLabelText('Run') as HTMLSelectElement).options].find((o) =>
      o.textContent?.startsWith('E1 window+rosa'),
    )!;
    fireEvent.change(screen.getByLabelText('Run'), { target: { value: rosa.value } });
    expect(screen.queryByTestId('attention-view')).toBeNull();
    expect(screen.queryByTestId('no-retrievals-note')).toBeNull();
  });

  it('offers every layer of a ROSA run, the ones without ROSA for their attention only', async () => {
    const hash = draftToHash({ ...QUICK_DRAFT, layers: '2', layer0Global: true });
    const { client } = await renderPage({ hash });
    await startRuns(client, 'Start 3 runs', 3);
    await advanceRuns(client, 2);
    fireEvent.click(screen.getByRole('tab', { name: 'Retrieval' }));
    const layer = screen.getByLabelText('Layer') as HTMLSelectElement;
    expect([...layer.options].map((o) => o.textContent)).toEqual(['layer 0', 'layer 1 (ROSA)']);
    // The first ROSA layer is chosen; layer 0 (global attention) has only heads to show.
    expect(layer.value).toBe('1');
    fireEvent.change(layer, { target: { value: '0' } });
    expect(screen.getByTestId('no-retrievals-note').textContent).toMatch(
      /^Layer 0 of E1 window\+rosa has no ROSA adapter/,
    );
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Show attention' })));
    expect(await screen.findByTestId('attention-view')).toBeTruthy();
    expect(screen.queryByTestId('retrieval-stats')).toBeNull();
  });
});
