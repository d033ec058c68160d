// A newcomer's path through the playground on the real page: real trainer worker, real
// WebGPU (SwiftShader here), ROSA workers over SharedArrayBuffer. A tiny comparison trains
// to the end; its curves, retrievals (and the attention beside them), a NIAH question and its
// checkpoints show; a reload keeps the runs; a tiny text model generates from a prompt.

import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { draftToHash } from '../src/ui/config/url.ts';
import { applyPreset, PRESETS } from '../src/ui/presets.ts';
import { launchChromium } from './chromium.ts';

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** Two variants, a few steps of a tiny model: minutes on SwiftShader would be too slow. */
const TINY = draftToHash({
  ...applyPreset(PRESETS[0]),
  variants: ['window', 'window+rosa'],
  backend: 'webgpu',
  seqLen: '64',
  window: '8',
  steps: '6',
  warmupSteps: '2',
  lengthWarmup: '0',
  batchSize: '2',
  evalEvery: '3',
  evalBatches: '1',
  checkpointEvery: '3',
});

/** One tiny character-level model on the bundled novel, for the Generate tab. */
const TINY_TEXT = draftToHash({
  ...applyPreset(PRESETS.find((p) => p.id === 'text')!),
  variants: ['window'],
  backend: 'webgpu',
  seqLen: '32',
  window: '8',
  layers: '1',
  width: '32',
  heads: '2',
  mlpHidden: '64',
  steps: '3',
  warmupSteps: '1',
  lengthWarmup: '0',
  batchSize: '2',
  evalEvery: '3',
  evalBatches: '1',
  checkpointEvery: '0',
});

beforeAll(async () => {
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${inject('baseUrl')}${TINY}`);
  mkdirSync('e2e/screenshots', { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

describe('playground', () => {
  it('connects to the trainer worker and offers the linked setup', async () => {
    await page.getByTestId('engine-pill').filter({ hasText: 'engine ready' }).waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('engine-pill').textContent()).toMatch(/ROSA workers \(shared memory\)/);
    expect(await page.getByRole('button', { name: 'Start 2 runs' }).isEnabled()).toBe(true);
  });

  it('trains a comparison to the end with progress and curves', async () => {
    await page.getByRole('button', { name: 'Start 2 runs' }).click();
    await page.getByRole('tab', { name: 'Curves', selected: true }).waitFor();
    await expect
      .poll(async () => page.getByTestId('run-status').allTextContents(), {
        timeout: 400_000,
        interval: 2000,
      })
      .toEqual(['finished', 'finished']);
    expect(await page.getByTestId('run-progress').allTextContents()).toEqual([
      'step 6 / 6 · 100%',
      'step 6 / 6 · 100%',
    ]);
    await page.getByRole('region', { name: 'Loss' }).waitFor();
    await page.getByRole('region', { name: 'Accuracy' }).waitFor();
    await expect
      .poll(async () => page.locator('table[aria-label="Latest numbers"] tbody tr').allTextContents())
      .toEqual([expect.stringMatching(/^ E1 window6\d/), expect.stringMatching(/^ E1 window\+rosa6\d/)]);
    // Each run draws its training line through every step (an M and then L segments).
    const lossLines = await page
      .getByRole('img', { name: 'Loss curves' })
      .locator('path:has(title)')
      .evaluateAll((els) => els.map((e) => [e.querySelector('title')?.textContent, e.getAttribute('d')]));
    const trainLines = lossLines.filter(([name]) => name?.endsWith(' train'));
    expect(trainLines.map(([name]) => name)).toEqual(['E1 window train', 'E1 window+rosa train']);
    for (const [, d] of trainLines) expect(d).toMatch(/^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){5}$/);
    await page.screenshot({ path: 'e2e/screenshots/playground-curves.png', fullPage: true });
  });

  it('shows what ROSA retrieved against the attention window', async () => {
    await page.getByRole('tab', { name: 'Retrieval' }).click();
    await page.getByRole('button', { name: 'Show retrievals' }).click();
    const stats = page.getByTestId('retrieval-stats');
    await stats.waitFor({ timeout: 60_000 });
    expect(await stats.textContent()).toMatch(/of 64 query positions retrieved something/);
    expect(await stats.textContent()).toMatch(/beyond the attention window \(W = 8\)/);
    // The attention heads of the same sample and layer, under the retrievals.
    const attention = page.getByTestId('attention-view');
    await attention.waitFor({ timeout: 60_000 });
    // One heatmap per head, as many as rows in the heads' table.
    const heads = await attention.locator('table[aria-label="Attention heads"] tbody tr').count();
    expect(heads).toBeGreaterThanOrEqual(1);
    expect(await attention.getByRole('img').count()).toBe(heads);
    await page.screenshot({ path: 'e2e/screenshots/playground-retrieval.png', fullPage: true });
    await attention.screenshot({ path: 'e2e/screenshots/playground-attention.png' });
  });

  it('asks both models a NIAH question', async () => {
    await page.getByRole('tab', { name: 'NIAH' }).click();
    await page.getByRole('button', { name: 'Ask 2 models' }).click();
    await expect
      .poll(async () => (await page.getByTestId('niah-answer').allTextContents()).join('\n'), {
        timeout: 60_000,
      })
      .toMatch(/E1 windowanswered[\s\S]*E1 window\+rosaanswered/);
    // The accuracy grid over context length × depth, one table per model.
    await page.getByLabel('Context lengths').fill('16, 32');
    await page.getByLabel('Depths').fill('0, 1');
    await page.getByLabel('Samples per cell').fill('2');
    await page.getByRole('button', { name: 'Run grid' }).click();
    for (const name of ['E1 window', 'E1 window+rosa']) {
      const table = page.getByRole('table', { name: `NIAH accuracy of ${name}`, exact: true });
      await table.waitFor({ timeout: 120_000 });
      expect(await table.locator('td').count()).toBeGreaterThanOrEqual(4);
    }
    await page.screenshot({ path: 'e2e/screenshots/playground-niah.png', fullPage: true });
  });

  it('saves and loads a checkpoint, and keeps the runs across a reload', async () => {
    await page.getByRole('tab', { name: 'Checkpoints' }).click();
    const rows = page.locator('table[aria-label="Checkpoints"] tbody tr');
    await expect.poll(async () => rows.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(4);
    await page.getByRole('button', { name: 'Save checkpoint' }).click();
    await expect
      .poll(async () => (await page.getByRole('status').allTextContents()).join(' '), { timeout: 60_000 })
      .toMatch(/Saved E1 window\+rosa at step 6/);
    // Load the window+rosa checkpoint of step 3: the run comes back paused at step 3.
    const earlier = rows
      .filter({ hasText: 'window+rosa' })
      .filter({ has: page.locator('td', { hasText: /^3$/ }) });
    await earlier.first().getByRole('button', { name: 'Load', exact: true }).click();
    await expect
      .poll(async () => (await page.getByRole('status').allTextContents()).join(' '), { timeout: 60_000 })
      .toMatch(/E1 window\+rosa is loaded as a paused run/);
    await expect
      .poll(async () => page.getByTestId('run-status').allTextContents())
      .toEqual(['finished', 'paused']);
    await page.screenshot({ path: 'e2e/screenshots/playground-checkpoints.png', fullPage: true });
    await page.reload();
    await page.getByTestId('engine-pill').filter({ hasText: 'engine ready' }).waitFor({ timeout: 120_000 });
    await expect
      .poll(async () => page.getByTestId('run-status').allTextContents())
      .toEqual(['finished', expect.stringMatching(/finished|paused|interrupted/)]);
    expect(await page.getByRole('tab', { name: 'Curves' }).getAttribute('aria-selected')).toBe('true');
    await page.screenshot({ path: 'e2e/screenshots/playground-after-reload.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('after the reload, restores a run from its checkpoint when asked, and lists runs sorted and filtered', async () => {
    // The models are gone with the reload; asking for retrievals restores the run from its
    // latest checkpoint without a click on Load.
    await page.getByRole('tab', { name: 'Retrieval' }).click();
    await page.getByRole('button', { name: 'Show retrievals' }).click();
    const stats = page.getByTestId('retrieval-stats');
    await stats.waitFor({ timeout: 120_000 });
    expect(await stats.textContent()).toMatch(/of 64 query positions retrieved something/);
    // The runs table: a filter and a settings diff between the two runs.
    await page.getByRole('searchbox').fill('rosa');
    await expect.poll(async () => (await page.getByTestId('run-status').allTextContents()).length).toBe(1);
    await page.getByRole('searchbox').fill('');
    await expect.poll(async () => (await page.getByTestId('run-status').allTextContents()).length).toBe(2);
    for (const box of await page.getByRole('checkbox', { name: /^Compare/ }).all()) await box.check();
    await page.getByRole('table', { name: 'Settings that differ' }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: 'e2e/screenshots/playground-runs-table.png', fullPage: true });
    // The Device tab times every kernel of one step on this page's GPU (SwiftShader offers timestamps).
    await page.getByRole('tab', { name: 'Device' }).click();
    await page.getByRole('button', { name: 'Profile one step' }).click();
    await page.getByTestId('profile-table').waitFor({ timeout: 180_000 });
    expect(await page.getByTestId('profile-summary').textContent()).toMatch(/^window\+rosa: \d+ dispatches/);
    await page.screenshot({ path: 'e2e/screenshots/device-kernel-profile.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('trains a tiny text model and generates from a prompt', async () => {
    await page.goto(`${inject('baseUrl')}${TINY_TEXT}`);
    await page.reload();
    await page.getByTestId('engine-pill').filter({ hasText: 'engine ready' }).waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Start 1 run' }).click();
    await expect
      .poll(async () => page.getByTestId('run-status').allTextContents(), {
        timeout: 300_000,
        interval: 2000,
      })
      .toContain('finished');
    await expect.poll(async () => (await page.getByTestId('run-status').allTextContents()).length).toBe(3);
    await page.getByRole('tab', { name: 'Generate' }).click();
    await page.getByLabel('Prompt', { exact: true }).fill('Call me Ishmael. ');
    await page.getByLabel('Characters to generate').fill('40');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByTestId('generation-summary').waitFor({ timeout: 120_000 });
    const text = (await page.getByTestId('generated-text').textContent()) ?? '';
    expect(text.startsWith('Call me Ishmael. ')).toBe(true);
    expect([...text].length).toBe('Call me Ishmael. '.length + 40);
    await page.screenshot({ path: 'e2e/screenshots/playground-generate.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
