// Drives a fast fake run (3 runs, a step every 2 ms each, long curves) on the preview page
// in Chromium and reports main-thread long tasks (> 50 ms) seen while it trains, per tab, as
// JSON (`npm run bench:ui`; STEP_MS and TABS change the pace and the tabs visited).

import { build, preview } from 'vite';
import { launchChromium } from '../../../e2e/chromium.ts';
import { draftToHash } from '../../../src/ui/config/url.ts';
import { applyPreset, PRESETS } from '../../../src/ui/presets.ts';

// A production build of the preview page (development React is far slower and would mislead).
const outDir = '/tmp/rosa-ui-preview';
await build({
  logLevel: 'warn',
  build: {
    outDir,
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: { input: 'test/ui/preview/index.html' },
  },
});
const server = await preview({
  build: { outDir },
  preview: { port: 0, host: '127.0.0.1' },
  logLevel: 'warn',
});
const base = server.resolvedUrls?.local[0];
if (!base) throw new Error('no address');
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const hash = draftToHash({ ...applyPreset(PRESETS[0]), steps: '200000', evalEvery: '100' });
  await page.goto(`${base}test/ui/preview/index.html?stepMs=${process.env.STEP_MS ?? 2}${hash}`);
  await page.getByRole('button', { name: 'Start 3 runs' }).waitFor();
  await page.waitForTimeout(3000); // let the page settle (kernel check etc.)
  await page.getByRole('button', { name: 'Start 3 runs' }).click();
  const visits: Array<{ tab: string; steps: number[]; longTasksMs: number[] }> = [];
  for (const tab of (process.env.TABS ?? 'Device,Curves,Retrieval,NIAH,Curves').split(',')) {
    // Observe before the click, so that mounting the tab counts too.
    await page.evaluate(() => {
      const w = globalThis as unknown as { __long: number[]; __obs?: PerformanceObserver };
      w.__obs?.disconnect();
      w.__long = [];
      w.__obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__long.push(Math.round(e.duration));
      });
      w.__obs.observe({ type: 'longtask' });
    });
    await page.getByRole('tab', { name: tab }).click();
    await page.waitForTimeout(8000);
    const long = await page.evaluate(() => (globalThis as unknown as { __long: number[] }).__long);
    const steps = await page.evaluate(() => {
      const s = (
        globalThis as unknown as { __store: { getState(): { runs: Record<string, { step: number }> } } }
      ).__store;
      return Object.values(s.getState().runs).map((r) => r.step);
    });
    visits.push({ tab, steps, longTasksMs: long });
  }
  const all = visits.flatMap((v) => v.longTasksMs);
  console.log(
    JSON.stringify(
      {
        what: 'main-thread long tasks (> 50 ms) while 3 fake runs train, per tab visited for 8 s',
        stepMs: Number(process.env.STEP_MS ?? 2),
        visits,
        longTasks: all.length,
        longestMs: all.length ? Math.max(...all) : 0,
      },
      null,
      1,
    ),
  );
} finally {
  await browser.close();
  await server.close();
}
