// Does the counterfactual surrogate point the way the real loss goes, for this run's weights?
// Runs the bit-flip gradient check (src/gpu/train/gradient-check.ts) in the trainer and shows,
// per ROSA layer and route, how the surrogate's bit derivatives compare with the true ones.

import { useState } from 'react';
import { formatPercent } from '../../common/format.ts';
import type { Agreement, GradientCheckResult } from '../../gpu/train/gradient-check.ts';
import { usePlaygroundStore } from '../state/context.tsx';
import { errorMessage } from '../state/store.ts';
import type { RunRecord } from '../state/types.ts';

function signed(x: number | null): string {
  return x === null ? '—' : (x >= 0 ? '+' : '') + x.toFixed(2);
}

function AgreementCells({ a }: { a: Agreement }) {
  return (
    <>
      <td>{a.flips}</td>
      <td>{signed(a.cosine)}</td>
      <td>{formatPercent(a.signAgreement)}</td>
      <td>{formatPercent(a.descentPrecision)}</td>
      <td>{signed(a.weightCosine)}</td>
      <td>
        {a.trueNonzero} / {a.surrogateNonzero} / {a.bothNonzero}
      </td>
    </>
  );
}

function CheckTable({ result }: { result: GradientCheckResult }) {
  const s = result.settings;
  return (
    <>
      <p className="hint">
        {s.semantics}, q/k {s.qk}, {s.bits} bits; {s.B} validation sequences of {s.T} tokens; {result.flips}{' '}
        bits flipped in {result.forwardPasses} forward passes ({(result.elapsedMs / 1000).toFixed(1)} s); loss{' '}
        {result.baseLoss.toFixed(3)}.
      </p>
      <table className="table compact" aria-label="Gradient check">
        <thead>
          <tr>
            <th>layer</th>
            <th>route</th>
            <th>flips</th>
            <th>cosine</th>
            <th>same sign</th>
            <th>descent precision</th>
            <th>weight cosine</th>
            <th>nonzero: true / surrogate / both</th>
          </tr>
        </thead>
        <tbody>
          {result.layers.flatMap((layer) => [
            ...layer.routes.map((r) => (
              <tr key={`${layer.layer}-${r.route}`}>
                <td>{layer.layer}</td>
                <td>{r.route}</td>
                <AgreementCells a={r} />
              </tr>
            )),
            <tr key={`${layer.layer}-all`}>
              <td>{layer.layer}</td>
              <td>all (|e1 − e0| = {layer.meanAbsDelta.toFixed(3)})</td>
              <AgreementCells a={layer} />
            </tr>,
          ])}
        </tbody>
      </table>
      <DescentTable result={result} />
    </>
  );
}

function change(x: number | null): string {
  return x === null ? '—' : (x > 0 ? '+' : '') + x.toFixed(4);
}

/** Loss changes after finite steps of each layer's Wq/Wk/Wv (negative: the loss went down). */
function DescentTable({ result }: { result: GradientCheckResult }) {
  const rows = result.layers.flatMap((l) => l.descent.map((d) => ({ layer: l.layer, ...d })));
  if (rows.length === 0) return null;
  return (
    <table className="table compact" aria-label="Descent steps">
      <thead>
        <tr>
          <th>layer</th>
          <th>step ‖ΔW‖/‖W‖</th>
          <th>−surrogate</th>
          <th>+surrogate</th>
          <th>−sign(surrogate)</th>
          <th>−true bits</th>
          <th>random</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((d) => (
          <tr key={`${d.layer}-${d.relativeStep}`}>
            <td>{d.layer}</td>
            <td>{d.relativeStep}</td>
            <td>{change(d.surrogate)}</td>
            <td>{change(d.surrogateAscent)}</td>
            <td>{change(d.surrogateSign)}</td>
            <td>{change(d.trueBits)}</td>
            <td>{change(d.random)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function GradientCheckPanel({
  run,
  engineReady,
}: {
  run: RunRecord | undefined;
  engineReady: boolean;
}) {
  const store = usePlaygroundStore();
  const [sequences, setSequences] = useState('2');
  const [flips, setFlips] = useState('64');
  const [result, setResult] = useState<GradientCheckResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nSeq = Number(sequences);
  const nFlips = Number(flips);
  const valid = Number.isInteger(nSeq) && nSeq >= 1 && nSeq <= 16 && Number.isInteger(nFlips) && nFlips >= 1;

  const check = async () => {
    if (!run || !valid) return;
    setBusy(true);
    setError(null);
    try {
      const client = store.getState().client;
      if (!client) throw new Error('The training engine is not available');
      setResult(await client.gradientCheck({ runId: run.id, sequences: nSeq, maxFlipsPerRoute: nFlips }));
    } catch (err) {
      setError(errorMessage(err));
      setResult(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="gradient-check" aria-label="Gradient check">
      <h3>Gradient check</h3>
      <p className="hint">
        Flips one query, key or value bit at a time, reruns the whole forward pass and compares the true loss
        change with what the counterfactual gradient predicts. It runs on the CPU in the trainer, which pauses
        training meanwhile: keep it small.
      </p>
      <div className="toolbar">
        <label>
          Sequences
          <input
            type="number"
            min={1}
            max={16}
            value={sequences}
            onChange={(e) => setSequences(e.target.value)}
            aria-label="Sequences"
            aria-invalid={!(Number.isInteger(nSeq) && nSeq >= 1 && nSeq <= 16)}
            className="narrow"
          />
        </label>
        <label>
          Flips per route
          <input
            type="number"
            min={1}
            value={flips}
            onChange={(e) => setFlips(e.target.value)}
            aria-label="Flips per route"
            aria-invalid={!(Number.isInteger(nFlips) && nFlips >= 1)}
            className="narrow"
          />
        </label>
        <button type="button" onClick={() => void check()} disabled={!run || !engineReady || busy || !valid}>
          {busy ? 'Checking…' : 'Check gradient'}
        </button>
      </div>
      {!valid && <p className="field-error">Sequences must be 1 to 16 and flips per route at least 1.</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {result && <CheckTable result={result} />}
    </section>
  );
}
