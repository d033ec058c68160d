import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from './chromium.ts';

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(inject('baseUrl'));
});

afterAll(async () => {
  await browser?.close();
});

describe('first page', () => {
  it('shows a WebGPU adapter with its vendor and limits', async () => {
    await page.getByTestId('adapter').waitFor({ timeout: 60_000 });
    const vendor = await page.getByTestId('adapter-vendor').textContent();
    expect(vendor && vendor.length > 0).toBe(true);
    await expect(page.getByText('maxStorageBufferBindingSize').count()).resolves.toBe(1);
    expect(await page.getByTestId('webgpu-error').count()).toBe(0);
  });

  it("lists each optional WebGPU feature with its use or its absence (the browser's own answer)", async () => {
    const lines = await page.getByTestId('optional-features').locator('li').allTextContents();
    expect(lines).toHaveLength(3);
    const expected = ['timestamp-query', 'subgroups', 'shader-f16'];
    lines.forEach((line, i) => {
      expect(line).toMatch(
        new RegExp(`^${expected[i]}: (used for|present, but unused|available|not offered)`),
      );
    });
  });

  it('is cross-origin isolated, so SharedArrayBuffer exists', async () => {
    expect(await page.getByTestId('isolation').textContent()).toBe('true');
    expect(await page.evaluate(() => crossOriginIsolated && typeof SharedArrayBuffer === 'function')).toBe(
      true,
    );
  });

  it('runs the matmul kernel on the page and it matches the CPU twin', async () => {
    const status = page.getByTestId('matmul-status');
    await status.waitFor({ timeout: 120_000 });
    expect(await status.textContent()).toBe('matmul matches the CPU twin');
    mkdirSync('e2e/screenshots', { recursive: true });
    await page.screenshot({ path: 'e2e/screenshots/first-page.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
