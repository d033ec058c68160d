// @vitest-environment happy-dom
// The Device tab's adapter facts: each optional WebGPU feature, used for what or absent.

import { cleanup, render, screen } from '@testing-library/react';
import { createElement } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterSummary } from '../../../src/gpu/context.ts';
import { DevicePanel } from '../../../src/ui/components/DevicePanel.tsx';

afterEach(cleanup);

function adapterWith(features: string[], isSoftware = false): AdapterSummary {
  return {
    vendor: 'v',
    architecture: 'a',
    device: 'd',
    description: 'test adapter',
    isSoftware,
    features,
    limits: {},
    platform: 'browser',
  };
}

const isolation = { isolated: true, sharedArrayBuffer: true, explanation: '' };

function featureLine(feature: string): string {
  return screen.getByTestId(`feature-${feature}`).textContent ?? '';
}

describe('device panel: optional features', () => {
  it('says what uses each feature the device has, and which the adapter does not offer', () => {
    render(
      createElement(DevicePanel, {
        adapter: adapterWith(['depth-clip-control', 'subgroups', 'timestamp-query']),
        error: null,
        isolation,
      }),
    );
    expect(featureLine('subgroups')).toMatch(/^subgroups: used for RMSNorm row sums/);
    expect(featureLine('timestamp-query')).toMatch(/^timestamp-query: used for the kernel profile/);
    expect(featureLine('shader-f16')).toBe(
      'shader-f16: not offered by this adapter: every kernel computes in f32',
    );
    expect(screen.getByTestId('feature-subgroups').className).toBe('ok');
    expect(screen.getByTestId('feature-shader-f16').className).toBe('warn');
    // Only the features the engine asks for are listed.
    expect(screen.getByTestId('optional-features').children).toHaveLength(3);
  });

  it('shows the fallback where subgroups are absent, and that f16 is opt-in where offered', () => {
    render(createElement(DevicePanel, { adapter: adapterWith(['shader-f16']), error: null, isolation }));
    expect(featureLine('subgroups')).toBe(
      'subgroups: not offered by this adapter: RMSNorm reduces through workgroup memory',
    );
    expect(featureLine('shader-f16')).toMatch(/^shader-f16: available: runs that set gpu\.f16 to auto/);
    expect(featureLine('timestamp-query')).toBe(
      'timestamp-query: not offered by this adapter: kernels cannot be timed',
    );
  });
});

describe('device panel on a software adapter', () => {
  it('says subgroups are present but unused there (rows are summed one invocation each)', () => {
    render(
      createElement(DevicePanel, {
        adapter: adapterWith(['subgroups', 'timestamp-query'], true),
        error: null,
        isolation,
      }),
    );
    expect(featureLine('subgroups')).toMatch(/^subgroups: present, but unused on this software adapter/);
    expect(featureLine('timestamp-query')).toMatch(/^timestamp-query: used for the kernel profile/);
  });
});
