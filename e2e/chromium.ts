// Finds a Chromium/Chrome to drive with playwright-core (it never downloads browsers here)
// and launches it with WebGPU enabled; on a machine without a GPU, WebGPU runs on SwiftShader.

import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH ?? process.env.CHROME_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv))
      throw new Error(`CHROMIUM_PATH/CHROME_PATH points to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      "No Chromium or Chrome found for the browser tests. Install Debian's chromium package " +
        '(apt-get update && apt-get install -y chromium), or set CHROMIUM_PATH to a Chrome/Chromium binary. ' +
        `Looked in: ${CANDIDATES.join(', ')}`,
    );
  }
  return found;
}

export async function launchChromium(): Promise<Browser> {
  const useSwiftShader = process.env.ROSA_BROWSER_GPU !== 'hardware';
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    args: [
      '--enable-unsafe-webgpu',
      ...(useSwiftShader ? ['--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'] : []),
      '--enable-features=Vulkan,SharedArrayBuffer',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
}
