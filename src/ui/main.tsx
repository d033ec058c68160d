import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { TrainerClient } from '../gpu/train/client.ts';
import { App } from './App.tsx';
import { getTrainerClient } from './engine.ts';
import { type HostingOutcome, prepareHosting, serviceWorkerBuilt } from './hosting/register.ts';
import { defaultStorage } from './state/persistence.ts';
import { createPlaygroundStore, errorMessage } from './state/store.ts';
import './styles.css';

// The built page brings its own service worker (offline, isolation on any host); the dev
// server sends the headers itself and needs none.
if (serviceWorkerBuilt() && !globalThis.crossOriginIsolated) {
  // First visit on a host without the headers: the worker saves the offline copy, then the page reloads.
  const root = document.getElementById('root');
  if (root) root.textContent = 'Opening the playground: saving a copy for offline use first…';
}
const hosting: HostingOutcome = serviceWorkerBuilt() ? await prepareHosting() : { kind: 'ready' };
if (hosting.kind === 'ready') start(hosting.note);

function start(note: string | undefined): void {
  let client: TrainerClient | null = null;
  let clientError: string | undefined;
  try {
    client = getTrainerClient();
  } catch (err) {
    clientError = errorMessage(err);
  }

  const store = createPlaygroundStore({ client, clientError, storage: defaultStorage() });
  void store.getState().init();
  if (note) store.getState().notify('info', note);
  // Keep what arrived since the last write when the page goes away.
  addEventListener('pagehide', () => {
    void store.getState().persistNow();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') void store.getState().persistNow();
  });

  const root = document.getElementById('root');
  if (!root) throw new Error('index.html has no #root element');
  root.textContent = '';
  createRoot(root).render(
    <StrictMode>
      <App store={store} />
    </StrictMode>,
  );
}
