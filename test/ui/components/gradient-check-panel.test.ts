// @vitest-environment happy-dom
// The gradient check panel of the Retrieval tab, against the in-process fake engine.

import { act, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { disposePages, withTrainedRuns } from '../harness.ts';

afterEach(disposePages);

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
