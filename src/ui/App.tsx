// The playground page: the experiment setup and the runs on the left, the views in tabs
// on the right (Curves, Retrieval, NIAH, Generate, Checkpoints, Device, How ROSA works), each view loaded lazily.

import { Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import type { GpuContext } from '../gpu/context.ts';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { ExperimentSetup } from './components/ExperimentSetup.tsx';
import { RecoveryBanner } from './components/RecoveryBanner.tsx';
import { RunList } from './components/RunList.tsx';
import type { EngineCapabilities, ExperimentDraft } from './config/draft.ts';
import { draftToHash, hashToDraft, type ParsedDraft } from './config/url.ts';
import { useLocalGpu } from './hooks/useLocalGpu.ts';
import {
  CheckpointsTab,
  CurvesTab,
  DeviceTab,
  GenerateTab,
  HowRosaTab,
  NiahTab,
  preloadViews,
  RetrievalTab,
  ViewLoading,
} from './lazy-views.tsx';
import { applyPreset, PRESETS, presetsFor } from './presets.ts';
import { StoreProvider, usePlayground } from './state/context.tsx';
import { type PlaygroundStore, sizeLimitsOf, type TabId } from './state/store.ts';
import { isActive } from './state/types.ts';

let contextPromise: Promise<GpuContext> | null = null;
function browserGpu(): Promise<GpuContext> {
  // Imported on demand: it bundles every WGSL kernel.
  contextPromise ??= import('../gpu/platform/browser.ts').then((m) => m.createBrowserGpuContext());
  return contextPromise;
}

const TABS: Array<{ id: TabId; label: string }> = [
  { id: 'curves', label: 'Curves' },
  { id: 'retrieval', label: 'Retrieval' },
  { id: 'niah', label: 'NIAH' },
  { id: 'generate', label: 'Generate' },
  { id: 'checkpoints', label: 'Checkpoints' },
  { id: 'device', label: 'Device' },
];
/** A view outside the store's tabs (TabId is the store's): the page keeps it on its own. */
const HOW_ROSA = { id: 'how-rosa', label: 'How ROSA works' } as const;

type ViewId = TabId | typeof HOW_ROSA.id;

const tabLabel = (id: ViewId) => [...TABS, HOW_ROSA].find((t) => t.id === id)?.label ?? id;

/** Where a failed tab offers to go: the Device tab, or Checkpoints from Device. */
function leaveTo(tab: ViewId, setTab: (id: ViewId) => void) {
  const to: TabId = tab === 'device' ? 'checkpoints' : 'device';
  return { label: `Open ${tabLabel(to)}`, go: () => setTab(to) };
}

function SafeRunList() {
  return (
    <ErrorBoundary label="run list">
      <RunList />
    </ErrorBoundary>
  );
}

export interface AppProps {
  store: PlaygroundStore;
  /** The page's own WebGPU device (device panel, kernel check); the browser's by default. */
  openGpu?: () => Promise<GpuContext>;
  /** The address hash the page was opened with (window.location.hash by default). */
  initialHash?: string;
  /** Writes the setup into the address (history.replaceState by default). */
  writeHash?: (hash: string) => void;
}

function defaultWriteHash(hash: string): void {
  if (typeof history !== 'undefined' && typeof location !== 'undefined' && location.hash !== hash) {
    history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
  }
}

function initialDraft(hash: string): ParsedDraft {
  const parsed = hashToDraft(hash);
  // A first visit without a link starts from the first preset.
  return parsed.fromLink ? parsed : { ...parsed, draft: applyPreset(PRESETS[0]) };
}

export function App({ store, openGpu = browserGpu, initialHash, writeHash = defaultWriteHash }: AppProps) {
  return (
    <StoreProvider store={store}>
      <Playground
        openGpu={openGpu}
        initialHash={initialHash ?? globalThis.location?.hash ?? ''}
        writeHash={writeHash}
      />
    </StoreProvider>
  );
}

function Notices() {
  const notices = usePlayground((s) => s.notices);
  const dismiss = usePlayground((s) => s.dismiss);
  if (notices.length === 0) return null;
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.kind}`} role={n.kind === 'error' ? 'alert' : 'status'}>
          <span>{n.text}</span>
          <button type="button" className="ghost small" onClick={() => dismiss(n.id)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}

function EnginePill() {
  const engine = usePlayground((s) => s.engine);
  const active = usePlayground(
    (s) => s.runOrder.filter((id) => s.runs[id] && isActive(s.runs[id].status)).length,
  );
  const label =
    engine.status === 'ready'
      ? `engine ready · ${engine.info?.rosaWorkers ?? 0} ROSA workers${engine.info?.rosaSharedMemory ? ' (shared memory)' : ''}`
      : engine.status === 'connecting'
        ? 'connecting to the engine…'
        : 'engine unavailable';
  return (
    <div className="pills">
      <span className={`pill pill-${engine.status}`} data-testid="engine-pill">
        {label}
      </span>
      {active > 0 && (
        <span className="pill pill-active">
          {active} run{active === 1 ? '' : 's'} active
        </span>
      )}
    </div>
  );
}

function Playground({
  openGpu,
  initialHash,
  writeHash,
}: {
  openGpu: () => Promise<GpuContext>;
  initialHash: string;
  writeHash: (hash: string) => void;
}) {
  const [parsed, setParsed] = useState(() => initialDraft(initialHash));
  const gpu = useLocalGpu(openGpu);
  const storeTab = usePlayground((s) => s.tab);
  const storeSetTab = usePlayground((s) => s.setTab);
  // How ROSA works shows over the store's tab it was opened on; the store switching tabs
  // (a run started) takes the panel back.
  const [howRosaOver, setHowRosaOver] = useState<TabId | null>(null);
  const tab: ViewId = howRosaOver === storeTab ? HOW_ROSA.id : storeTab;
  const setTab = useCallback(
    (id: ViewId) => {
      setHowRosaOver(id === HOW_ROSA.id ? storeTab : null);
      if (id !== HOW_ROSA.id) storeSetTab(id);
    },
    [storeSetTab, storeTab],
  );
  const engine = usePlayground((s) => s.engine);
  const startExperiment = usePlayground((s) => s.startExperiment);
  // With runs, they come first in the left column (progress in view); the setup follows.
  const hasRuns = usePlayground((s) => s.runOrder.length > 0);

  useEffect(() => {
    // The other views' code, after the first paint (the service worker has it cached).
    const timer = setTimeout(() => void preloadViews(), 1000);
    return () => clearTimeout(timer);
  }, []);

  useEffect(() => {
    writeHash(draftToHash(parsed.draft));
  }, [parsed.draft, writeHash]);

  useEffect(() => {
    const onHash = () => {
      const next = hashToDraft(location.hash, parsed.draft);
      if (next.fromLink && draftToHash(next.draft) !== draftToHash(parsed.draft)) {
        setParsed({ ...next, draft: { ...next.draft, userText: parsed.draft.userText } });
      }
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [parsed.draft]);

  const onChange = useCallback(
    (draft: ExperimentDraft) => setParsed({ draft, problems: [], fromLink: true }),
    [],
  );

  // A software adapter offers the quick preset first, and an untouched setup starts from it.
  const softwareAdapter = (engine.info?.adapter ?? gpu.adapter)?.isSoftware === true;
  const presets = useMemo(() => presetsFor(softwareAdapter), [softwareAdapter]);
  useEffect(() => {
    if (presets[0] === PRESETS[0]) return;
    setParsed((p) => (p.fromLink ? p : { ...p, draft: applyPreset(presets[0], p.draft) }));
  }, [presets]);

  const capabilities = useMemo<EngineCapabilities>(() => {
    const info = engine.info;
    const limits = sizeLimitsOf(info?.adapter?.limits) ?? sizeLimitsOf(gpu.adapter?.limits);
    const webgpuUnavailable = info
      ? info.adapter
        ? null
        : (info.gpuError ?? 'the engine found no WebGPU adapter')
      : gpu.error;
    return { limits, webgpuUnavailable };
  }, [engine.info, gpu.adapter, gpu.error]);

  const engineBlocker =
    engine.status === 'ready'
      ? null
      : engine.status === 'connecting'
        ? 'Connecting to the training engine…'
        : `Training is not available: ${engine.error ?? 'no engine'}`;

  const onStart = useCallback(
    async (draft: ExperimentDraft) => {
      const res = await startExperiment(draft, capabilities.limits);
      return [...res.errors, ...res.failed.map((f) => `${f.runId}: ${f.message}`)];
    },
    [startExperiment, capabilities.limits],
  );

  return (
    <div className="app">
      <header className="app-header">
        <div>
          <h1>
            ROSA Playground <span className="beta">research</span>
          </h1>
          <p className="tagline">
            Windowed attention, global attention, ROSA retrieval and LRSA — trained on your GPU.
          </p>
        </div>
        <EnginePill />
      </header>
      <Notices />
      <RecoveryBanner />
      {engine.status === 'unavailable' && (
        <div className="callout callout-warn banner" role="status">
          <strong>Training engine not available.</strong> {engine.error}
        </div>
      )}
      <div className="layout">
        <aside className="sidebar">
          {hasRuns && <SafeRunList />}
          <ExperimentSetup
            draft={parsed.draft}
            onChange={onChange}
            linkProblems={parsed.problems}
            engine={capabilities}
            engineBlocker={engineBlocker}
            onStart={onStart}
            initialPresetId={parsed.fromLink ? null : presets[0].id}
            presets={presets}
          />
          {!hasRuns && <SafeRunList />}
        </aside>
        <main className="main">
          <div className="tabs" role="tablist" aria-label="Views">
            {[...TABS, HOW_ROSA].map((t) => (
              <button
                key={t.id}
                type="button"
                role="tab"
                id={`tab-${t.id}`}
                aria-selected={tab === t.id}
                aria-controls={`panel-${t.id}`}
                className={`tab${tab === t.id ? ' tab-on' : ''}`}
                onClick={() => setTab(t.id)}
              >
                {t.label}
              </button>
            ))}
          </div>
          <section className="tab-panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
            {/* One boundary per tab (key: a new tab starts clean); a failing view leaves the others usable. */}
            <ErrorBoundary key={tab} label={`${tabLabel(tab)} view`} leave={leaveTo(tab, setTab)}>
              <Suspense fallback={<ViewLoading />}>
                {tab === 'curves' && <CurvesTab />}
                {tab === 'retrieval' && <RetrievalTab />}
                {tab === 'niah' && <NiahTab />}
                {tab === 'generate' && <GenerateTab />}
                {tab === 'checkpoints' && <CheckpointsTab />}
                {tab === 'device' && <DeviceTab gpu={gpu} />}
                {tab === HOW_ROSA.id && <HowRosaTab />}
              </Suspense>
            </ErrorBoundary>
          </section>
        </main>
      </div>
    </div>
  );
}
