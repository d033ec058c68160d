// The "How ROSA works" view on the built page: type a text, pick a position, and the retrieval
// it shows must be the one the definition gives (a literal brute force here, independent of the
// scan), with the counterfactual flips agreeing with the scan run in Node.

import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rosaQkv } from '../src/rosa-worker/scan.ts';
import { launchChromium } from './chromium.ts';

const TEXT = 'abracadabra, a cab, a bad bard: abracadabra <b>cab</b> and a drab cad';
const BITS = 5;

/** Symbols as the view says it makes them: the low BITS bits of each character code. */
const symbols = Array.from(TEXT, (c) => (c.codePointAt(0) ?? 0) & ((1 << BITS) - 1));

/** BlinkDL's definition, literally: longest w with s[t-w+1..t] = k[j..j+w-1], j+w-1 < t, latest j. */
function bruteForce(q: number[], k: number[], t: number): { from: number; length: number } {
  for (let w = t; w >= 1; w--) {
    for (let j = t - w; j >= 0; j--) {
      let same = true;
      for (let i = 0; i < w && same; i++) same = q[t - w + 1 + i] === k[j + i];
      if (same) return { from: j + w, length: w };
    }
  }
  return { from: -1, length: 0 };
}

let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(inject('baseUrl'));
  mkdirSync('e2e/screenshots', { recursive: true });
});

afterAll(async () => {
  await browser?.close();
});

describe('how ROSA works', () => {
  it('explains the name and links the papers', async () => {
    await page.getByRole('tab', { name: 'How ROSA works' }).click();
    await page.getByText('RWKV Online Suffix Automaton').waitFor({ timeout: 60_000 });
    const links = await page
      .locator('.how-rosa-text a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(links).toContain('https://arxiv.org/abs/2602.02499');
    expect(links).toContain('https://github.com/BlinkDL/RWKV-LM/tree/main/RWKV-v8');
  });

  it('shows the retrieval the definition gives for the typed text', async () => {
    await page.getByLabel('Your text').fill(TEXT);
    const cells = page.getByRole('group', { name: 'Tokens' }).getByRole('button');
    expect(await cells.count()).toBe(symbols.length);
    // The markup the user typed is text: no <b> element inside the view.
    expect(await page.locator('.how-rosa b').count()).toBe(0);

    // The last position with a match of two or more whose bit flips move the retrieval elsewhere.
    const flipsThatRetrieve = (t: number) =>
      Array.from({ length: BITS }, (_, bit) => {
        const q = symbols.slice();
        q[t] ^= 1 << bit;
        return bruteForce(q, symbols, t).from;
      }).filter((from) => from >= 0).length;
    let t = symbols.length - 1;
    while (t > 0 && !(bruteForce(symbols, symbols, t).length >= 2 && flipsThatRetrieve(t) >= 2)) t--;
    const expected = bruteForce(symbols, symbols, t);
    expect(expected.from).toBeGreaterThan(0);
    // The same answer from the scan itself, run here in Node.
    const positions = Int32Array.from(symbols, (_, i) => i);
    const scan = rosaQkv(symbols, symbols, positions);
    expect([scan.y[t], scan.matchLen[t]]).toEqual([expected.from, expected.length]);

    await page.getByRole('button', { name: `position ${t}`, exact: true }).click();
    const selected = page.getByTestId('rosa-selected');
    const matched = TEXT.slice(expected.from - expected.length, expected.from).replaceAll(' ', '␣');
    expect(await selected.textContent()).toContain(
      `retrieves from position ${expected.from} (“${TEXT[expected.from].replace(' ', '␣')}”), after a match of ${expected.length} characters “${matched}” at positions ${expected.from - expected.length}–${expected.from - 1}`,
    );
    // The highlighted cells: the retrieved one and the earlier match.
    expect(await page.locator('button.rosa-cell-source').getAttribute('aria-label')).toBe(
      `position ${expected.from}`,
    );
    expect(await page.locator('button.rosa-cell-match').count()).toBe(expected.length);

    // Every bit flip of the query symbol: where the brute force says it would retrieve from.
    const rows = await page
      .getByRole('table', { name: 'Bit flips at the selected position' })
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')),
      );
    expect(rows).toHaveLength(BITS);
    for (const [bit, row] of rows.entries()) {
      const q = symbols.slice();
      q[t] ^= 1 << bit;
      const flip = bruteForce(q, symbols, t);
      const from = flip.from < 0 ? 'nothing' : String(flip.from);
      expect(row[0]).toBe(String(bit));
      expect(row[1]).toBe(q[t].toString(2).padStart(BITS, '0'));
      expect([row[2], row[3], row[5]]).toEqual([from, String(flip.length), from]);
    }
    await page.screenshot({ path: 'e2e/screenshots/how-rosa.png', fullPage: true });
  });

  it('every position in the table agrees with the brute force', async () => {
    await page.locator('summary', { hasText: 'Every position' }).click();
    const rows = await page
      .getByRole('table', { name: 'Retrievals' })
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')),
      );
    expect(rows).toHaveLength(symbols.length);
    for (const [t, row] of rows.entries()) {
      const r = bruteForce(symbols, symbols, t);
      expect([row[3], row[4]]).toEqual([r.from < 0 ? '—' : String(r.from), String(r.length)]);
    }
    expect(pageErrors).toEqual([]);
  });
});
