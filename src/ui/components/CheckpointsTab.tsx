// Checkpoints kept by the engine: save, load (as a new paused run), delete, download as two
// files (.safetensors weights, .json manifest) and upload them back, export as a Hugging Face
// folder (one zip), import a Hugging Face model folder as a base checkpoint; plus metrics export.

import { useCallback, useEffect, useMemo, useState } from 'react';
import { formatBytes, formatCount } from '../../common/format.ts';
import type { CheckpointInfo } from '../../gpu/train/protocol.ts';
import { loadCorpusBrowser } from '../../tasks/corpus-browser.ts';
import { downloadBytes, downloadText } from '../export/download.ts';
import { hfFolderZip } from '../export/hf-folder.ts';
import { type HfPickProgress, readHfPick } from '../export/hf-pick.ts';
import { safeFileName } from '../export/metrics.ts';
import { usePlayground } from '../state/context.tsx';
import { errorMessage } from '../state/store.ts';
import type { RunRecord } from '../state/types.ts';
import { exportMetrics } from './CurvesTab.tsx';

const SAVEABLE: RunRecord['status'][] = ['running', 'paused', 'stopped', 'finished'];

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** A stored entry the engine could not read: what is wrong, and a way to remove it. */
function BrokenRow({ info, busy, onDelete }: { info: CheckpointInfo; busy: boolean; onDelete: () => void }) {
  return (
    <tr className="broken">
      <td>{info.key}</td>
      <td colSpan={4}>
        <span className="error" role="alert">
          Unreadable: {info.problem}
        </span>
      </td>
      <td className="actions">
        <button
          type="button"
          className="ghost small"
          onClick={onDelete}
          disabled={busy}
          aria-label={`Delete unreadable checkpoint ${info.key}`}
        >
          Delete
        </button>
      </td>
    </tr>
  );
}

function describePick(p: HfPickProgress): string {
  if (p.stage === 'reading')
    return `Reading ${p.name} (${formatBytes(p.bytes)}): ${formatBytes(p.done)} of ${formatBytes(p.total)}…`;
  if (p.stage === 'converting') return 'Converting the weights to f32…';
  return 'Storing the checkpoint…';
}

export function CheckpointsTab() {
  const client = usePlayground((s) => s.client);
  const engineReady = usePlayground((s) => s.engine.status === 'ready');
  const order = usePlayground((s) => s.runOrder);
  const runsById = usePlayground((s) => s.runs);
  const series = usePlayground((s) => s.series);
  const loadCheckpoint = usePlayground((s) => s.loadCheckpoint);
  const runs = useMemo(
    () => order.map((id) => runsById[id]).filter((r): r is RunRecord => !!r),
    [order, runsById],
  );
  const saveable = runs.filter((r) => SAVEABLE.includes(r.status));

  const [list, setList] = useState<CheckpointInfo[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [saveRun, setSaveRun] = useState('');
  const [weights, setWeights] = useState<File | null>(null);
  const [manifest, setManifest] = useState<File | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const [inputKey, setInputKey] = useState(0);
  const [hfProgress, setHfProgress] = useState<string | null>(null);
  const [hfError, setHfError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    if (!client || !engineReady) return;
    try {
      setList(await client.listCheckpoints());
      setListError(null);
    } catch (err) {
      setListError(errorMessage(err));
    }
  }, [client, engineReady]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const act = async (label: string, fn: () => Promise<void>) => {
    setBusy(label);
    setActionError(null);
    setInfo(null);
    try {
      await fn();
    } catch (err) {
      setActionError(errorMessage(err));
    } finally {
      setBusy(null);
      void refresh();
    }
  };

  const save = () =>
    act('save', async () => {
      const id = saveRun || saveable[saveable.length - 1]?.id;
      if (!client || !id) return;
      const c = await client.saveCheckpoint(id);
      setInfo(`Saved ${c.name} at step ${c.step}.`);
    });

  const download = (c: CheckpointInfo) =>
    act(`download ${c.key}`, async () => {
      if (!client) return;
      const files = await client.exportCheckpoint(c.key);
      const base = safeFileName(`${c.name}-step${c.step}`);
      downloadBytes(files.weights, `${base}.safetensors`);
      downloadText(files.manifest, `${base}.json`, 'application/json');
    });

  const exportHf = (c: CheckpointInfo) =>
    act(`export ${c.key}`, async () => {
      if (!client) return;
      const folder = `${safeFileName(`${c.name}-step${c.step}`)}-hf`;
      const zip = await hfFolderZip(await client.exportCheckpoint(c.key), folder, loadCorpusBrowser);
      downloadBytes(zip.bytes, `${folder}.zip`, 'application/zip');
      setInfo(`Exported ${c.name} (step ${c.step}) as ${folder}.zip: ${zip.files.join(', ')}.`);
    });

  const remove = (c: CheckpointInfo) =>
    act(`delete ${c.key}`, async () => {
      if (!client) return;
      const what =
        c.problem !== undefined
          ? `the unreadable checkpoint ${c.key}`
          : `the checkpoint of ${c.name} at step ${c.step}`;
      if (!confirm(`Delete ${what}?`)) return;
      await client.deleteCheckpoint(c.key);
    });

  const load = (c: CheckpointInfo) =>
    act(`load ${c.key}`, async () => {
      const run = await loadCheckpoint(c.key, c.step);
      if (run)
        setInfo(
          `${run.spec.name} is loaded as a paused run: resume it, inspect its retrievals or ask it NIAH questions.`,
        );
    });

  const upload = async () => {
    if (!client || !weights || !manifest) return;
    setUploadError(null);
    setInfo(null);
    setBusy('upload');
    try {
      const [w, m] = await Promise.all([weights.arrayBuffer(), manifest.text()]);
      const c = await client.importCheckpoint({ weights: new Uint8Array(w), manifest: m });
      setInfo(`Imported ${c.name} (step ${c.step}).`);
      setWeights(null);
      setManifest(null);
      setInputKey((k) => k + 1);
    } catch (err) {
      setUploadError(errorMessage(err));
    } finally {
      setBusy(null);
      void refresh();
    }
  };

  const importHf = async (picked: FileList | null) => {
    if (!client || !picked || picked.length === 0) return;
    setHfError(null);
    setInfo(null);
    setBusy('hf-import');
    const show = (p: HfPickProgress) => setHfProgress(describePick(p));
    try {
      const checkpoint = await readHfPick(Array.from(picked), show);
      show({ stage: 'storing' });
      const c = await client.importCheckpoint(checkpoint.files);
      const tokens =
        checkpoint.tokenizerSize !== null
          ? ` Its tokenizer (${formatCount(checkpoint.tokenizerSize)} tokens) is kept: text and NIAH runs from it can use the base model's tokens.`
          : ` Its tokenizer is not kept (${checkpoint.tokenizerNote}).`;
      setInfo(
        `Imported ${c.name} as a base checkpoint (${formatCount(checkpoint.parameters)} parameters): start a run from it.${tokens}`,
      );
    } catch (err) {
      setHfError(errorMessage(err));
    } finally {
      setHfProgress(null);
      setBusy(null);
      setInputKey((k) => k + 1);
      void refresh();
    }
  };

  return (
    <div className="checkpoints">
      {!engineReady && (
        <p className="callout callout-warn">
          The training engine is not available, so its checkpoints cannot be listed. Metrics export below
          still works.
        </p>
      )}
      <section className="panel" aria-labelledby="ckpt-list">
        <div className="card-head">
          <h3 id="ckpt-list">Checkpoints</h3>
          <button
            type="button"
            className="ghost small"
            onClick={() => void refresh()}
            disabled={!engineReady}
          >
            Refresh
          </button>
        </div>
        <div className="row wrap">
          <label>
            Run
            <select
              value={saveRun || saveable[saveable.length - 1]?.id || ''}
              onChange={(e) => setSaveRun(e.target.value)}
              aria-label="Run to save"
            >
              {saveable.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.spec.name} ({r.status}, step {r.step})
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            onClick={() => void save()}
            disabled={!engineReady || saveable.length === 0 || busy !== null}
          >
            Save checkpoint
          </button>
        </div>
        {info && (
          <p className="ok" role="status">
            {info}
          </p>
        )}
        {actionError && (
          <p className="error" role="alert">
            {actionError}
          </p>
        )}
        {listError && (
          <p className="error" role="alert">
            {listError}
          </p>
        )}
        {list && list.length === 0 && (
          <p className="empty">
            No checkpoints yet. Save one from a run above, or set <em>Checkpoint every</em> under “More
            settings” before starting. The engine keeps them in this browser; download them to keep them
            elsewhere.
          </p>
        )}
        {list && list.length > 0 && (
          <table className="table" aria-label="Checkpoints">
            <thead>
              <tr>
                <th>run</th>
                <th>variant</th>
                <th>step</th>
                <th>saved</th>
                <th>size</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((c) =>
                c.problem !== undefined ? (
                  <BrokenRow key={c.key} info={c} busy={busy !== null} onDelete={() => void remove(c)} />
                ) : (
                  <tr key={c.key}>
                    <td>{c.name}</td>
                    <td>{c.variant}</td>
                    <td>{formatCount(c.step)}</td>
                    <td>{when(c.savedAt)}</td>
                    <td>{formatBytes(c.bytes)}</td>
                    <td className="actions">
                      <button
                        type="button"
                        className="small"
                        onClick={() => void load(c)}
                        disabled={busy !== null}
                      >
                        Load
                      </button>
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => void download(c)}
                        disabled={busy !== null}
                      >
                        Download
                      </button>
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => void exportHf(c)}
                        disabled={busy !== null}
                        title="A folder transformers loads: config.json, model.safetensors, tokenizer files, the ROSA adapter (one zip)"
                        aria-label={`Export checkpoint ${c.name} step ${c.step} to Hugging Face`}
                      >
                        {busy === `export ${c.key}` ? 'Exporting…' : 'Export to Hugging Face'}
                      </button>
                      <button
                        type="button"
                        className="ghost small"
                        onClick={() => void remove(c)}
                        disabled={busy !== null}
                        aria-label={`Delete checkpoint ${c.name} step ${c.step}`}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        )}
      </section>

      <section className="panel" aria-labelledby="ckpt-upload">
        <h3 id="ckpt-upload">Upload a checkpoint</h3>
        <p className="hint">
          Both files of a downloaded checkpoint: the weights (.safetensors) and the manifest (.json).
        </p>
        <div className="row wrap" key={inputKey}>
          <label className="file-pick">
            Weights (.safetensors)
            <input
              type="file"
              accept=".safetensors,application/octet-stream"
              onChange={(e) => setWeights(e.target.files?.[0] ?? null)}
              aria-label="Weights file"
            />
          </label>
          <label className="file-pick">
            Manifest (.json)
            <input
              type="file"
              accept=".json,application/json"
              onChange={(e) => setManifest(e.target.files?.[0] ?? null)}
              aria-label="Manifest file"
            />
          </label>
          <button
            type="button"
            onClick={() => void upload()}
            disabled={!engineReady || !weights || !manifest || busy !== null}
          >
            {busy === 'upload' ? 'Importing…' : 'Import'}
          </button>
        </div>
        {uploadError && (
          <p className="error" role="alert" data-testid="upload-error">
            The engine refused these files: {uploadError}
          </p>
        )}
      </section>

      <section className="panel" aria-labelledby="hf-import">
        <h3 id="hf-import">Import a Hugging Face model</h3>
        <p className="hint">
          Pick a Hugging Face model folder (or its files): config.json and model.safetensors (or the shards
          with model.safetensors.index.json), F32/F16/BF16; Llama, Mistral, Qwen2, Qwen3 or SmolLM2. It is
          stored as a base checkpoint, converted to f32, with its tokenizer.json (byte-level BPE) when it has
          one: runs started from it can then set Tokens to the base model's tokenizer for text and NIAH, and
          Generate speaks its tokens. Without one, text tasks on it use characters.
        </p>
        <div className="row wrap" key={`hf-${inputKey}`}>
          <label className="file-pick">
            Model folder
            <input
              type="file"
              multiple
              {...{ webkitdirectory: '' }}
              onChange={(e) => void importHf(e.target.files)}
              disabled={!engineReady || busy !== null}
              aria-label="Hugging Face model folder"
            />
          </label>
          <label className="file-pick">
            or its files
            <input
              type="file"
              multiple
              accept=".json,.safetensors"
              onChange={(e) => void importHf(e.target.files)}
              disabled={!engineReady || busy !== null}
              aria-label="Hugging Face model files"
            />
          </label>
        </div>
        {hfProgress && (
          <p className="hint" role="status" data-testid="hf-progress">
            {hfProgress}
          </p>
        )}
        {hfError && (
          <p className="error" role="alert" data-testid="hf-error">
            This model cannot be imported: {hfError}
          </p>
        )}
      </section>

      <section className="panel" aria-labelledby="metrics-export">
        <h3 id="metrics-export">Export metrics</h3>
        <p className="hint">
          Every run's training and validation metrics: CSV (one row per step or evaluation) or JSON (with the
          run specs).
        </p>
        <div className="row">
          <button
            type="button"
            className="secondary"
            onClick={() => exportMetrics(runs, series, 'csv')}
            disabled={runs.length === 0}
          >
            Export CSV
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => exportMetrics(runs, series, 'json')}
            disabled={runs.length === 0}
          >
            Export JSON
          </button>
        </div>
      </section>
    </div>
  );
}
