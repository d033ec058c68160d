// One view that throws while rendering (a poisoned stored run, a bug in one chart) must not
// blank the whole page: the boundary shows what failed, a retry, and a way to another view.

import { Component, type ErrorInfo, type ReactNode } from 'react';

export interface ErrorBoundaryProps {
  /** What failed, for the message: "Curves view", "run list". */
  label: string;
  children: ReactNode;
  /** A way elsewhere while this view cannot render (e.g. to another tab). */
  leave?: { label: string; go: () => void };
}

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<ErrorBoundaryProps, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    // Kept in the console for bug reports; the page itself stays usable.
    console.error(`${this.props.label} failed`, error, info.componentStack);
  }

  private retry = () => this.setState({ error: null });

  override render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    const { label, leave } = this.props;
    return (
      <div className="callout callout-warn" role="alert" data-testid="view-error">
        <p>
          <strong>The {label} could not be shown:</strong> {error.message}
        </p>
        <p className="hint">The rest of the page still works.</p>
        <div className="row">
          <button type="button" className="small" onClick={this.retry}>
            Try again
          </button>
          {leave && (
            <button type="button" className="secondary small" onClick={leave.go}>
              {leave.label}
            </button>
          )}
        </div>
      </div>
    );
  }
}
