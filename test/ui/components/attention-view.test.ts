// @vitest-environment happy-dom
// The attention view under the retrieval heatmap, against the in-process fake engine.

import { act, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { disposePages, withTrainedRuns } from '../harness.ts';

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
});
