// The page with the in-process fake engine (test/ui/fake-client.ts), for looking at the UI
// in a browser without the real trainer: `npx tsx test/ui/preview/screenshot.ts`.

import { createRoot } from 'react-dom/client';
import { App } from '../../../src/ui/App.tsx';
import { MemoryStorage } from '../../../src/ui/state/persistence.ts';
import { createPlaygroundStore } from '../../../src/ui/state/store.ts';
import '../../../src/ui/styles.css';
import { FakeTrainerClient } from '../fake-client.ts';

const params = new URLSearchParams(location.search);
const client = new FakeTrainerClient({ autoStepMs: Number(params.get('stepMs') ?? 40) });
const store = createPlaygroundStore({ client, storage: new MemoryStorage() });
void store.getState().init();
(globalThis as unknown as { __store: typeof store; __client: FakeTrainerClient }).__store = store;
(globalThis as unknown as { __client: FakeTrainerClient }).__client = client;
createRoot(document.getElementById('root')!).render(<App store={store} />);
