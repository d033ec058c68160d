// The views in the tabs, loaded apart from the page's first script: the first load carries the
// setup form and the run list; the charts, the kernels' WGSL and the ROSA walkthrough follow
// (the page preloads them once it is idle, so switching tabs rarely waits).

import { type ComponentType, createElement, lazy } from 'react';

export interface LazyView<P extends object> {
  (props: P): ReturnType<typeof createElement>;
  /** Loads the view's code (once); resolves when it can render without suspending. */
  preload(): Promise<void>;
}

/** React.lazy that renders directly (no Suspense fallback) once its code has arrived. */
function lazyView<P extends object>(load: () => Promise<ComponentType<P>>): LazyView<P> {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<void> | null = null;
  const preload = () => {
    pending ??= load().then((component) => {
      loaded = component;
    });
    return pending;
  };
  const Suspending = lazy(async () => {
    await preload();
    return { default: loaded as ComponentType<P> };
  });
  const View = (props: P) => createElement(loaded ?? Suspending, props);
  return Object.assign(View, { preload });
}

export const CurvesTab = lazyView(() => import('./components/CurvesTab.tsx').then((m) => m.CurvesTab));
export const RetrievalTab = lazyView(() =>
  import('./components/RetrievalTab.tsx').then((m) => m.RetrievalTab),
);
export const NiahTab = lazyView(() => import('./components/NiahTab.tsx').then((m) => m.NiahTab));
export const CheckpointsTab = lazyView(() =>
  import('./components/CheckpointsTab.tsx').then((m) => m.CheckpointsTab),
);
export const DeviceTab = lazyView(() => import('./components/DeviceTab.tsx').then((m) => m.DeviceTab));
export const GenerateTab = lazyView(() => import('./components/GenerateTab.tsx').then((m) => m.GenerateTab));
export const HowRosaTab = lazyView(() => import('./how-rosa/HowRosaTab.tsx').then((m) => m.HowRosaTab));

/** Loads every view's code. */
export async function preloadViews(): Promise<void> {
  await Promise.all(
    [CurvesTab, RetrievalTab, NiahTab, GenerateTab, CheckpointsTab, DeviceTab, HowRosaTab].map((v) =>
      v.preload(),
    ),
  );
}

/** Shown in the panel while a view's code arrives. */
export function ViewLoading() {
  return (
    <p className="hint" role="status">
      Loading…
    </p>
  );
}
