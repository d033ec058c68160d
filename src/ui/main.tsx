import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { TrainerClient } from '../gpu/train/client.ts';
import { App } from './App.tsx';
import { getTrainerClient } from './engine.ts';
import { defaultStorage } from './state/persistence.ts';
import { createPlaygroundStore, errorMessage } from './state/store.ts';
import './styles.css';

let client: TrainerClient | null = null;
let clientError: string | undefined;
try {
  client = getTrainerClient();
} catch (err) {
  clientError = errorMessage(err);
}

const store = createPlaygroundStore({ client, clientError, storage: defaultStorage() });
void store.getState().init();
// Keep what arrived since the last write when the page goes away.
addEventListener('pagehide', () => {
  void store.getState().persistNow();
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') void store.getState().persistNow();
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App store={store} />
  </StrictMode>,
);
