import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { serviceWorkerPlugin } from './src/sw/build-plugin.ts';

// SharedArrayBuffer (used to hand symbol streams to the ROSA workers without copies)
// is only available on cross-origin isolated pages, so both servers send COOP/COEP.
// Hosts that cannot are covered by the service worker (src/sw/), which the build emits.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig(({ command }) => ({
  // Relative URLs: dist/ works when copied to any folder of any static host.
  base: './',
  plugins: [react(), serviceWorkerPlugin()],
  // The built page registers the service worker; the dev server sends the headers itself.
  // (Not import.meta.env.PROD: a build run under NODE_ENV=test, as the browser tests do, is not PROD.)
  define: { __SERVICE_WORKER__: JSON.stringify(command === 'build') },
  server: { headers: isolationHeaders, host: '127.0.0.1', port: 5173 },
  preview: { headers: isolationHeaders, host: '127.0.0.1', port: 4173 },
  worker: { format: 'es' },
  assetsInclude: ['**/*.wgsl'],
  build: { target: 'es2022', sourcemap: true },
}));
