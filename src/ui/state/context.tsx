// React access to the playground store.

import { createContext, type ReactNode, useContext } from 'react';
import { useStore } from 'zustand';
import type { PlaygroundState, PlaygroundStore } from './store.ts';

const StoreContext = createContext<PlaygroundStore | null>(null);

export function StoreProvider({ store, children }: { store: PlaygroundStore; children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function usePlaygroundStore(): PlaygroundStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('usePlayground must be used inside <StoreProvider>');
  return store;
}

/** Subscribes to a slice of the state; the selector must return something stable (not a fresh object). */
export function usePlayground<T>(selector: (state: PlaygroundState) => T): T {
  return useStore(usePlaygroundStore(), selector);
}
