// Serves the preview page with Vite, drives it in Chromium and saves screenshots of each
// tab under e2e/screenshots/ui-*.png (for looking at, not asserting).

import { mkdirSync } from 'node:fs';
import { createServer } from 'vite';
import { launchChromium } from '../../../e2e/chromium.ts';

const server = await createServer({ server: { port: 0, host: '127.0.0.1' }, logLevel: 'warn' });
await server.listen();
const base = server.resolvedUrls?.local[0];
if (!base) throw new Error('no address');
const browser = await launchChromium();
const errors: string[] = [];
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  mkdirSync('e2e/screenshots', { recursive: true });
  await page.goto(`${base}test/ui/preview/index.html?stepMs=30`);
  await page.getByRole('heading', { name: 'Getting started' }).waitFor();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: 'e2e/screenshots/ui-1-first-visit.png', fullPage: true });
  await page.getByRole('button', { name: 'Start 3 runs' }).click();
  await page.waitForTimeout(6000);
  const lossChart = page.getByRole('img', { name: 'Loss curves' });
  const lossBox = await lossChart.boundingBox();
  if (lossBox) await lossChart.hover({ position: { x: lossBox.width * 0.4, y: lossBox.height / 2 } });
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'e2e/screenshots/ui-2-curves.png', fullPage: true });
  await page.getByRole('tab', { name: 'Retrieval' }).click();
  await page.getByRole('button', { name: 'Show retrievals' }).click();
  await page.waitForTimeout(500);
  const canvas = page.getByRole('img', { name: /query position by retrieved position/ });
  const box = await canvas.boundingBox();
  if (box) await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.6);
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'e2e/screenshots/ui-3-retrieval.png', fullPage: true });
  await page.getByRole('tab', { name: 'NIAH' }).click();
  await page.getByRole('button', { name: /^Ask \d+ models?$/ }).click();
  await page.waitForTimeout(500);
  await page.getByRole('button', { name: 'Run grid' }).click();
  await page.waitForTimeout(800);
  await page.screenshot({ path: 'e2e/screenshots/ui-4-niah.png', fullPage: true });
  await page.getByRole('tab', { name: 'Checkpoints' }).click();
  await page.getByRole('button', { name: 'Save checkpoint' }).click();
  await page.waitForTimeout(500);
  await page.screenshot({ path: 'e2e/screenshots/ui-5-checkpoints.png', fullPage: true });
  await page.getByRole('tab', { name: 'Device' }).click();
  await page.waitForTimeout(500);
  await page.screenshot({ path: 'e2e/screenshots/ui-6-device.png', fullPage: true });
  await page.goto(`${base}test/ui/preview/index.html#task=banana&width=abc&variants=window,warp`);
  await page.waitForTimeout(1000);
  await page.screenshot({ path: 'e2e/screenshots/ui-7-bad-link.png', fullPage: false });
} finally {
  await browser.close();
  await server.close();
}
console.log(errors.length ? `page errors:\n${errors.join('\n')}` : 'no page errors');
