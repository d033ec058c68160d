// @vitest-environment happy-dom
// Checks the setup and the NIAH tab make while the user types: the memory and duration
// estimates beside Start, the refusal of a run too large, a window that covers the whole
// sequence said beside its field, a software adapter's quick first preset, and NIAH haystacks
// checked against the models' vocabulary and length before Ask.

import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineInfo } from '../../src/gpu/train/client.ts';
import { applyPreset, PRESETS } from '../../src/ui/presets.ts';
import { FAKE_LIMITS, FakeTrainerClient } from './fake-client.ts';
import { advanceRuns, disposePages, QUICK, renderPage, startRuns } from './harness.ts';

afterEach(disposePages);

describe('estimates beside Start', () => {
  it('shows memory per run against the device budget and the duration, for the CPU backend too', async () => {
    await renderPage();
    const estimates = await screen.findByTestId('start-estimates');
    // Budget on WebGPU: 8 × the largest buffer (256 MiB here).
    expect(estimates.textContent).toMatch(
      /Memory ≈ [\d.]+ [KMG]i?B per run, [\d.]+ [KMG]iB for all 3 \(limit 2\.0 GiB\)/,
    );
    expect(estimates.textContent).toMatch(/about (\d+m )?\d+s on this device \(assumed speed\)/);
    fireEvent.change(screen.getByLabelText('Backend'), { target: { value: 'cpu' } });
    await waitFor(() =>
      expect(screen.getByTestId('start-estimates').textContent).toMatch(/limit [\d.]+ GiB/),
    );
    expect(screen.getByTestId('start-estimates').textContent).toMatch(/on this device/);
  });

  it('refuses 64 layers × width 1024, naming the estimate and the limit, and disables Start', async () => {
    await renderPage();
    fireEvent.change(screen.getByLabelText('Heads'), { target: { value: '16' } });
    fireEvent.change(screen.getByLabelText('Width'), { target: { value: '1024' } });
    fireEvent.change(screen.getByLabelText('MLP width'), { target: { value: '2816' } });
    fireEvent.change(screen.getByLabelText('Layers'), { target: { value: '64' } });
    // One message per variant (ROSA adds its projections and scan buffers).
    const alerts = await screen.findAllByText(/model needs about [\d.]+ GiB in all/);
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts[0].textContent).toMatch(
      /more than the limit of 2\.0 GiB \(8 × this device's largest buffer of 256 MiB\) on webgpu/,
    );
    expect((screen.getByRole('button', { name: /Start/ }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.queryByTestId('start-estimates')).toBeNull();
  });
});

describe('runs that fit alone but not together', () => {
  it('are refused under Variants: the runs of a comparison stay in memory together', async () => {
    await renderPage();
    expect(screen.getByTestId('start-estimates').textContent).toMatch(/per run, [\d.]+ [KMG]iB for all 3/);
    fireEvent.change(screen.getByLabelText('Width'), { target: { value: '256' } });
    fireEvent.change(screen.getByLabelText('Heads'), { target: { value: '4' } });
    fireEvent.change(screen.getByLabelText('MLP width'), { target: { value: '688' } });
    fireEvent.change(screen.getByLabelText('Layers'), { target: { value: '8' } });
    await waitFor(() =>
      expect(document.body.textContent).toMatch(
        /Variants: the 3 runs stay in memory together and need about 2\.\d GiB, more than the limit of 2\.0 GiB/,
      ),
    );
    expect((screen.getByRole('button', { name: /Start/ }) as HTMLButtonElement).disabled).toBe(true);
    // One variant alone fits.
    fireEvent.click(screen.getByRole('checkbox', { name: /^window\b.*sliding/ }));
    fireEvent.click(screen.getByRole('checkbox', { name: /^global\b/ }));
    await waitFor(() =>
      expect((screen.getByRole('button', { name: /Start/ }) as HTMLButtonElement).disabled).toBe(false),
    );
  });
});

describe('a window that covers the whole sequence', () => {
  it('is said beside the window field, not only at the bottom of the form', async () => {
    await renderPage();
    const input = screen.getByLabelText('Window W');
    fireEvent.change(input, { target: { value: '4096' } });
    const field = input.closest('.field') as HTMLElement;
    await waitFor(() =>
      expect(within(field).getByTestId('field-warning').textContent).toMatch(
        /Window W covers the whole sequence \(\d+ tokens\): the window is then global attention/,
      ),
    );
    expect(screen.getAllByText(/covers the whole sequence/)).toHaveLength(1);
  });
});

describe('on a software adapter', () => {
  it('offers the one-minute preset first and starts from it', async () => {
    const info: Partial<EngineInfo> = {
      adapter: {
        vendor: 'google',
        architecture: 'swiftshader',
        device: 'SwiftShader Device',
        description: 'SwiftShader driver',
        isSoftware: true,
        features: [],
        limits: { ...FAKE_LIMITS },
        platform: 'browser',
      },
    };
    await renderPage({ client: new FakeTrainerClient({ info }) });
    const chips = within(screen.getByRole('group', { name: 'Presets' })).getAllByRole('button');
    expect(chips[0].textContent).toBe('NIAH first look (1 minute)');
    await waitFor(() => expect(chips[0].className).toContain('chip-on'));
    expect((screen.getByLabelText('Steps') as HTMLInputElement).value).toBe('60');
    expect(screen.getByTestId('start-estimates').textContent).toMatch(
      /about (1m \d+s|[3-9]\ds) on this device/,
    );
  });

  it('keeps the usual first preset on a hardware adapter', async () => {
    await renderPage();
    const chips = within(screen.getByRole('group', { name: 'Presets' })).getAllByRole('button');
    expect(chips[0].textContent).toBe(PRESETS[0].name);
  });
});

describe('NIAH haystack checks while typing', () => {
  async function niahTab() {
    const { client } = await renderPage({ hash: QUICK });
    await startRuns(client, 'Start 3 runs', 3);
    await advanceRuns(client, 3);
    fireEvent.click(screen.getByRole('tab', { name: 'NIAH' }));
    fireEvent.change(screen.getByLabelText('Key (digits)'), { target: { value: '4' } });
    return { ask: () => screen.getByRole('button', { name: 'Ask 3 models' }) as HTMLButtonElement };
  }

  it('names characters outside the vocabulary beside the field and disables Ask', async () => {
    const { ask } = await niahTab();
    expect(ask().disabled).toBe(false);
    fireEvent.change(screen.getByLabelText(/^Haystack \(/), { target: { value: 'abc é ok 😀 é' } });
    expect(
      screen.getByText(
        /Haystack has 2 characters outside the model's vocabulary \("é", "😀"\); use printable ASCII/,
      ),
    ).toBeTruthy();
    expect(ask().disabled).toBe(true);
    // Folded characters (dashes, quotes, newlines) are fine.
    fireEvent.change(screen.getByLabelText(/^Haystack \(/), { target: { value: 'a — “b”\nc' } });
    expect(ask().disabled).toBe(false);
  });

  it('reports a haystack too long for the models before Ask', async () => {
    const { ask } = await niahTab();
    const T = Number(applyPreset(PRESETS[0]).seqLen);
    const keyLength = Number(applyPreset(PRESETS[0]).keyLength);
    const max = T - 2 * keyLength - 2;
    fireEvent.change(screen.getByLabelText(/^Haystack \(/), { target: { value: 'a'.repeat(max + 1) } });
    expect(
      screen.getByText(
        new RegExp(`Haystack is ${max + 1} characters, longer than the ${max} that E1 \\S+ takes`),
      ),
    ).toBeTruthy();
    expect(ask().disabled).toBe(true);
    fireEvent.change(screen.getByLabelText(/^Haystack \(/), { target: { value: 'a'.repeat(max) } });
    expect(ask().disabled).toBe(false);
  });
});
