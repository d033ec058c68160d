// The built page on a plain static host: dist/ (built by global-setup) served under a sub-path
// by a bare Node server that sends no COOP/COEP headers. The page's own service worker has to
// make it cross-origin isolated, it trains on WebGPU, and after the host is gone (browser
// offline, server closed) a reload still opens and trains from the cache.

import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftToHash } from '../src/ui/config/url.ts';
import { applyPreset, PRESETS } from '../src/ui/presets.ts';
import { launchChromium } from './chromium.ts';

const DIST = 'dist';
const SUB_PATH = '/some/sub/path/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.map': 'application/json',
};

/** A static host with nothing but Content-Type: files of DIST under SUB_PATH. */
function serveDist(requests: string[]): Promise<{ server: Server; origin: string }> {
  const root = normalize(DIST);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (!path.startsWith(SUB_PATH)) {
      res.writeHead(404).end('not here');
      return;
    }
    const rest = path.slice(SUB_PATH.length) || 'index.html';
    const file = normalize(join(root, rest));
    if (!file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, origin: `http://127.0.0.1:${port}` });
    });
  });
}

/** One ROSA run of a few steps on a tiny model (SwiftShader is slow). */
const TINY = draftToHash({
  ...applyPreset(PRESETS[0]),
  variants: ['window+rosa'],
  backend: 'webgpu',
  seqLen: '32',
  window: '8',
  steps: '3',
  warmupSteps: '1',
  lengthWarmup: '0',
  batchSize: '2',
  evalEvery: '3',
  evalBatches: '1',
  checkpointEvery: '3',
});

let browser: Browser;
let context: BrowserContext;
let page: Page;
let server: Server;
let url: string;
const requests: string[] = [];
const pageErrors: string[] = [];

/** crossOriginIsolated of whatever document the page has now (false while it navigates). */
async function isolated(p: Page): Promise<boolean> {
  try {
    return await p.evaluate(() => globalThis.crossOriginIsolated === true);
  } catch {
    return false;
  }
}

async function trainOneRun(p: Page, finishedBefore: number): Promise<void> {
  await p.getByTestId('engine-pill').filter({ hasText: 'engine ready' }).waitFor({ timeout: 120_000 });
  // Shared memory: the ROSA workers got SharedArrayBuffer, i.e. the isolation is real.
  expect(await p.getByTestId('engine-pill').textContent()).toMatch(/ROSA workers \(shared memory\)/);
  await p.getByRole('button', { name: 'Start 1 run' }).click();
  await expect
    .poll(async () => p.getByTestId('run-status').allTextContents(), { timeout: 300_000, interval: 2000 })
    .toEqual(Array(finishedBefore + 1).fill('finished'));
}

beforeAll(async () => {
  ({ server, origin: url } = await serveDist(requests));
  url = `${url}${SUB_PATH}`;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  mkdirSync('e2e/screenshots', { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

describe('static host under a sub-path', () => {
  it('the host sends no isolation headers', async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('cross-origin-opener-policy')).toBeNull();
    expect(res.headers.get('cross-origin-embedder-policy')).toBeNull();
  });

  it('becomes cross-origin isolated through its service worker and trains on WebGPU', async () => {
    await page.goto(`${url}${TINY}`);
    await expect.poll(() => isolated(page), { timeout: 60_000, interval: 500 }).toBe(true);
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(url);
    // Everything came from under the sub-path: workers, WGSL, icons, the manifest.
    expect(requests.filter((r) => !r.startsWith(SUB_PATH))).toEqual([]);
    expect(requests).toContain(`${SUB_PATH}manifest.webmanifest`);
    await trainOneRun(page, 0);
    await page.getByRole('tab', { name: 'Curves' }).waitFor();
    await page.screenshot({ path: 'e2e/screenshots/static-host-online.png', fullPage: true });
  });

  it('has the whole build cached, the corpus included', async () => {
    const cached = await page.evaluate(async () => {
      const names = await caches.keys();
      const out: string[] = [];
      for (const n of names)
        for (const r of await (await caches.open(n)).keys()) out.push(new URL(r.url).pathname);
      return out;
    });
    const manifest = await page.evaluate(async () => (await fetch('./manifest.webmanifest')).json());
    expect(manifest).toMatchObject({ start_url: './', name: 'ROSA Playground' });
    expect(cached).toEqual(
      expect.arrayContaining([
        SUB_PATH,
        `${SUB_PATH}index.html`,
        `${SUB_PATH}favicon.svg`,
        `${SUB_PATH}manifest.webmanifest`,
      ]),
    );
    // The Moby-Dick text is a lazily loaded chunk; it must be there for offline text runs.
    const corpus = cached.filter((p) => /\/assets\/data-[\w-]+\.js$/.test(p));
    expect(corpus).toHaveLength(1);
    expect(cached.filter((p) => p.endsWith('.js')).length).toBeGreaterThanOrEqual(10);
  });

  it('without service workers, still runs on the copy fallback and says so', async () => {
    const blocked = await browser.newContext({
      serviceWorkers: 'block',
      viewport: { width: 1280, height: 900 },
    });
    try {
      const p = await blocked.newPage();
      await p.goto(url);
      await p.getByTestId('engine-pill').filter({ hasText: 'engine ready' }).waitFor({ timeout: 120_000 });
      expect(await isolated(p)).toBe(false);
      expect(await p.getByTestId('engine-pill').textContent()).not.toMatch(/shared memory/);
      await expect
        .poll(async () => (await p.getByRole('status').allTextContents()).join(' '), { timeout: 30_000 })
        .toMatch(/copy symbol streams instead of sharing memory/);
      await p.screenshot({ path: 'e2e/screenshots/static-host-no-service-worker.png' });
    } finally {
      await blocked.close();
    }
  });

  it('opens and trains again after going offline, with the host gone', async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await context.setOffline(true);
    const before = requests.length;
    await page.reload();
    await expect.poll(() => isolated(page), { timeout: 60_000, interval: 500 }).toBe(true);
    // The corpus chunk answers from the cache too.
    const corpusStatus = await page.evaluate(async () => {
      const names = await caches.keys();
      const keys = (await Promise.all(names.map(async (n) => (await caches.open(n)).keys()))).flat();
      const corpus = keys.find((r) => /\/assets\/data-[\w-]+\.js$/.test(r.url));
      return corpus ? (await fetch(corpus.url)).status : 0;
    });
    expect(corpusStatus).toBe(200);
    await trainOneRun(page, 1);
    expect(requests.length).toBe(before);
    await page.screenshot({ path: 'e2e/screenshots/static-host-offline.png', fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
