import type { MatmulCheck } from '../../gpu/selfcheck.ts';

export interface KernelCheckProps {
  results: MatmulCheck[] | null;
  running: boolean;
  error: string | null;
  onRun: () => void;
}

export function KernelCheck({ results, running, error, onRun }: KernelCheckProps) {
  const allOk = results?.every((r) => r.ok);
  return (
    <section className="card" aria-labelledby="check-heading">
      <h2 id="check-heading">Kernel check</h2>
      <p className="hint">
        Runs the tiled matmul kernel (A·B, Aᵀ·B, A·Bᵀ on a 130×64×33 shape) on this GPU and compares it with
        the CPU twin.
      </p>
      <button type="button" onClick={onRun} disabled={running}>
        {running ? 'Running…' : 'Run matmul check'}
      </button>
      {error && <p className="error">{error}</p>}
      {results && (
        <>
          <p data-testid="matmul-status" className={allOk ? 'ok' : 'error'}>
            {allOk ? 'matmul matches the CPU twin' : 'matmul DOES NOT match the CPU twin'}
          </p>
          <table className="table">
            <thead>
              <tr>
                <th>form</th>
                <th>shape M×N×K</th>
                <th>max |GPU − CPU|</th>
                <th>GPU ms</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <tr key={r.form}>
                  <td>{r.form}</td>
                  <td>
                    {r.M}×{r.N}×{r.K}
                  </td>
                  <td>{r.maxAbsError.toExponential(2)}</td>
                  <td>{r.gpuMs.toFixed(1)}</td>
                  <td>{r.ok ? '✓' : '✗'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
