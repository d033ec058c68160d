// Builds the app once and serves it with `vite preview` (which sends COOP/COEP) for the
// browser tests; the address reaches the tests through vitest's provide/inject.

import type { PreviewServer } from 'vite';
import { build, preview } from 'vite';
import type { TestProject } from 'vitest/node';

let server: PreviewServer | null = null;

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

export async function setup(project: TestProject): Promise<void> {
  await build({ logLevel: 'warn' });
  server = await preview({ preview: { port: 0, host: '127.0.0.1', strictPort: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report an address');
  project.provide('baseUrl', url);
}

export async function teardown(): Promise<void> {
  await server?.close();
}
