// @vitest-environment happy-dom
// The Device tab's kernel profile panel: what it shows for a profile, and where there is none.

import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Variant } from '../../../src/gpu/model/config.ts';
import type { StepProfile } from '../../../src/gpu/train/profile-step.ts';
import { KernelProfile } from '../../../src/ui/components/KernelProfile.tsx';

afterEach(cleanup);

function fakeProfile(variant: Variant, kernels: number): StepProfile {
  return {
    variant,
    batch: 4,
    seqLen: 128,
    wallMs: 50,
    dispatches: kernels * 2,
    totalMs: kernels * 2,
    kernels: Array.from({ length: kernels }, (_, i) => ({ kernel: `kernel ${i}`, calls: 2, totalMs: 2 })),
  };
}

describe('kernel profile panel', () => {
  it('profiles the chosen variant and lists the slowest kernels with their share', async () => {
    const asked: Variant[] = [];
    render(
      createElement(KernelProfile, {
        available: true,
        onProfile: async (v: Variant) => {
          asked.push(v);
          return fakeProfile(v, 20);
        },
      }),
    );
    fireEvent.change(screen.getByRole('combobox'), { target: { value: 'global' } });
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Profile one step' })));
    expect(asked).toEqual(['global']);
    expect(screen.getByTestId('profile-summary').textContent).toBe(
      'global: 40 dispatches, 40.00 ms of GPU time',
    );
    const rows = screen.getByTestId('profile-table').querySelectorAll('tbody tr');
    expect(rows).toHaveLength(15);
    expect(rows[0].textContent).toContain('5.0%');
    expect(screen.getByText(/and 5 more kernels, 10\.000 ms together/)).toBeTruthy();
  });

  it('says why there is no profile on an adapter without timestamp-query', () => {
    render(
      createElement(KernelProfile, { available: false, onProfile: async () => fakeProfile('window', 1) }),
    );
    expect(screen.getByTestId('profile-unavailable').textContent).toMatch(/timestamp-query/);
    expect(screen.queryByRole('button', { name: 'Profile one step' })).toBeNull();
  });

  it('shows a failed profile as an error, not a crash', async () => {
    render(
      createElement(KernelProfile, {
        available: true,
        onProfile: async () => {
          throw new Error('The GPU device was lost');
        },
      }),
    );
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Profile one step' })));
    expect(screen.getByText('The GPU device was lost')).toBeTruthy();
  });
});
