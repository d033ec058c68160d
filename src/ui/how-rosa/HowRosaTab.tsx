// "How ROSA works": the real scan on what the user types, one position at a time, with the
// counterfactual flips that train the bits, and a short explanation beside it. The user's text
// is only ever rendered as React text nodes.

import { useMemo, useState } from 'react';
import { ROSA_MAX_BITS } from '../../rosa-worker/layout.ts';
import { Field } from '../components/Field.tsx';
import {
  type BitSlice,
  bitString,
  counterfactuals,
  MAX_CHARACTERS,
  type Position,
  type Retrieval,
  tokensOf,
  walkthrough,
} from './walkthrough.ts';

const SAMPLE = 'abracadabra abracadabra';

/** A character as a cell shows it: spaces and line breaks visible. */
export function visible(char: string): string {
  if (char === ' ') return '␣';
  if (char === '\n') return '↵';
  if (char === '\t') return '⇥';
  return char;
}

function quoted(chars: string[], from: number, to: number): string {
  return `“${chars.slice(from, to).map(visible).join('')}”`;
}

/** The injected vector as signs, highest bit first like the symbols' bits (channel j = bit j). */
function injectedSigns(values: number[]): string {
  return values
    .map((x) => (x > 0 ? '+' : x < 0 ? '−' : '0'))
    .reverse()
    .join(' ');
}

/** One sentence on where a position retrieves from. */
function describeRetrieval(chars: string[], r: Retrieval): string {
  if (r.from < 0) return 'nothing: no suffix ending here occurred before, so nothing is injected';
  return `position ${r.from} (${quoted(chars, r.from, r.from + 1)}), after a match of ${r.length} character${
    r.length === 1 ? '' : 's'
  } ${quoted(chars, r.from - r.length, r.from)} at positions ${r.from - r.length}–${r.from - 1}`;
}

function cellClass(t: number, selected: Position | undefined): string {
  if (!selected) return 'rosa-cell';
  const { from, length } = selected.retrieval;
  const classes = ['rosa-cell'];
  if (t === selected.t) classes.push('rosa-cell-query');
  if (from >= 0 && t >= from - length && t < from) classes.push('rosa-cell-match');
  if (t === from) classes.push('rosa-cell-source');
  if (from >= 0 && t > selected.t - length && t <= selected.t) classes.push('rosa-cell-suffix');
  return classes.join(' ');
}

function Explanation() {
  return (
    <div className="card how-rosa-text">
      <h2>What ROSA is</h2>
      <p>
        <strong>ROSA</strong> is the <strong>RWKV Online Suffix Automaton</strong>, proposed by BlinkDL for
        RWKV-8 and used by ROSA-Tuning to give windowed-attention models long-range recall. At every position
        it finds the longest stretch of the past that ends exactly like the present, takes its most recent
        occurrence, and reads what came right after it. That value is added to the model's stream. There is no
        softmax over the past and no memory that grows with attention scores: the lookup is exact and costs
        about the same at every step.
      </p>
      <p>
        <strong>The suffix automaton</strong> is a compact graph of every substring seen so far, built online,
        one symbol at a time. Each state stands for a set of substrings that end at the same places and
        remembers the latest place they end. Following a transition extends the current match by one symbol;
        when no transition exists, the suffix link shortens the match to the longest suffix that can still be
        extended. That is how the scan below finds, for every position, the longest earlier match and where it
        ended.
      </p>
      <p>
        <strong>Bits and routes.</strong> In a model, ROSA sees vectors, not characters: the signs of M
        channels of a projection form one symbol of M bits (one route), and a layer of width C runs C / M
        routes, each with its own automaton. Here there is one route, and its symbol is a slice of each
        character's code (chosen below), so you can read the retrievals as text.
      </p>
      <p>
        <strong>The window band.</strong> Windowed attention sees the last W tokens exactly and nothing before
        them; in the Retrieval tab that is the band along the diagonal. ROSA's retrievals are not limited to
        the band: a match can come from anywhere in the past, which is what lets a windowed model recall a
        needle given long ago.
      </p>
      <p>
        <strong>LagKV selection (LRSA),</strong> the other baseline here, keeps attention but widens what it
        sees: the past is cut into chunks, each token is scored by how far its keys and values stray from the
        range of the next (lagging) chunk, and the highest-scoring tokens of each chunk stay visible beside
        the window. It chooses by statistics, where ROSA chooses by exact content match.
      </p>
      <p>
        <strong>Training the bits.</strong> Signs have no gradient. The counterfactual gradient asks, for each
        bit of the query: had it been the other way, where would the retrieval have gone, and would what was
        read there have lowered the loss? The table under the selected position shows exactly those flips,
        computed by running the scan again.
      </p>
      <p>
        Read more:{' '}
        <a href="https://arxiv.org/abs/2602.02499" target="_blank" rel="noreferrer">
          ROSA-Tuning: Enhancing Long-Context Modeling via Suffix Matching (arXiv:2602.02499)
        </a>
        {' · '}
        <a href="https://github.com/BlinkDL/RWKV-LM/tree/main/RWKV-v8" target="_blank" rel="noreferrer">
          BlinkDL's RWKV-8 ROSA description
        </a>
        {' · '}
        <a href="https://github.com/zyaaa-ux/ROSA-Tuning" target="_blank" rel="noreferrer">
          ROSA-Tuning code
        </a>
      </p>
    </div>
  );
}

function SelectedPosition({
  chars,
  slice,
  position,
  rcf,
}: {
  chars: string[];
  slice: BitSlice;
  position: Position;
  rcf: Int32Array;
}) {
  const flips = useMemo(
    () => counterfactuals(chars, slice, position.t, rcf),
    [chars, slice, position.t, rcf],
  );
  const { t, symbol, retrieval } = position;
  return (
    <div className="card">
      <h2>Position {t}</h2>
      <p data-testid="rosa-selected">
        {quoted(chars, t, t + 1)} has the symbol {bitString(symbol, slice.bits)}. It retrieves from{' '}
        {describeRetrieval(chars, retrieval)}
        {retrieval.from >= 0 &&
          `; the injected value is the bits of ${quoted(chars, retrieval.from, retrieval.from + 1)}: ${injectedSigns(position.injected)} (−e for 0, +e for 1)`}
        .
      </p>
      <table className="table rosa-flips" aria-label="Bit flips at the selected position">
        <thead>
          <tr>
            <th>flip bit</th>
            <th>query symbol</th>
            <th>would retrieve from</th>
            <th>match length</th>
            <th>would inject</th>
            <th>scan's saved index</th>
          </tr>
        </thead>
        <tbody>
          {flips.map((f) => (
            <tr key={f.bit}>
              <td className="num">{f.bit}</td>
              <td className="num">{bitString(f.symbol, slice.bits)}</td>
              <td className="num">{f.retrieval.from < 0 ? 'nothing' : f.retrieval.from}</td>
              <td className="num">{f.retrieval.length}</td>
              <td>{f.retrieval.from < 0 ? '—' : quoted(chars, f.retrieval.from, f.retrieval.from + 1)}</td>
              <td className="num">{f.savedFrom < 0 ? 'nothing' : f.savedFrom}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">
        Each row flips one bit of this position's query symbol, runs the scan again over the whole text and
        reports where this position would then retrieve from. The last column is the index the original scan
        saved for the same flip (rcf), which the counterfactual gradient reads; the two agree.
      </p>
    </div>
  );
}

export function HowRosaTab() {
  const [text, setText] = useState(SAMPLE);
  const [bits, setBits] = useState(5);
  const [shift, setShift] = useState(0);
  const [picked, setPicked] = useState<number | null>(null);
  const chars = useMemo(() => tokensOf(text), [text]);
  const slice = useMemo<BitSlice>(() => ({ bits, shift }), [bits, shift]);
  const { positions, rcf } = useMemo(() => walkthrough(chars, slice), [chars, slice]);
  const selectedT = picked !== null && picked < chars.length ? picked : chars.length - 1;
  const selected = positions[selectedT];

  return (
    <div className="how-rosa">
      <Explanation />
      <div className="card">
        <h2>Try it</h2>
        <div className="fields">
          <Field
            label="Your text"
            hint={`One token per character; the first ${MAX_CHARACTERS} are scanned.`}
            wide
          >
            {(props) => (
              <textarea
                {...props}
                value={text}
                rows={3}
                onChange={(e) => setText(e.target.value)}
                spellCheck={false}
              />
            )}
          </Field>
          <Field label="Bits per route (M)">
            {(props) => (
              <select {...props} value={bits} onChange={(e) => setBits(Number(e.target.value))}>
                {Array.from({ length: ROSA_MAX_BITS }, (_, i) => i + 1).map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Lowest bit of the character code">
            {(props) => (
              <select {...props} value={shift} onChange={(e) => setShift(Number(e.target.value))}>
                {Array.from({ length: 9 }, (_, i) => i).map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <p className="hint">
          Each character's symbol is bits {shift}…{shift + bits - 1} of its character code ({1 << bits}{' '}
          symbols).
          {bits === 5 &&
            shift === 0 &&
            ' With 5 bits from bit 0, letters keep their identity but not their case.'}{' '}
          The scan is BlinkDL's per-token rule with the query, key and value all equal to these symbols. Click
          a character to see its retrieval.
        </p>
        <fieldset className="rosa-strip" aria-label="Tokens">
          {positions.map((p) => (
            <button
              key={p.t}
              type="button"
              className={cellClass(p.t, selected)}
              aria-pressed={p.t === selectedT}
              aria-label={`position ${p.t}`}
              onClick={() => setPicked(p.t)}
            >
              <span className="rosa-char">{visible(p.char)}</span>
              <span className="rosa-bits">{bitString(p.symbol, bits)}</span>
              <span className="rosa-pos">{p.t}</span>
            </button>
          ))}
        </fieldset>
        <p className="hint rosa-legend">
          <span className="rosa-key rosa-cell-query">selected</span>
          <span className="rosa-key rosa-cell-suffix">its suffix</span>
          <span className="rosa-key rosa-cell-match">earlier match</span>
          <span className="rosa-key rosa-cell-source">retrieved</span>
        </p>
      </div>
      {selected && <SelectedPosition chars={chars} slice={slice} position={selected} rcf={rcf} />}
      {positions.length > 0 && (
        <details className="card">
          <summary>Every position</summary>
          <table className="table" aria-label="Retrievals">
            <thead>
              <tr>
                <th>t</th>
                <th>char</th>
                <th>symbol</th>
                <th>retrieves from</th>
                <th>match length</th>
                <th>injects</th>
              </tr>
            </thead>
            <tbody>
              {positions.map((p) => (
                <tr key={p.t}>
                  <td className="num">{p.t}</td>
                  <td>{visible(p.char)}</td>
                  <td className="num">{bitString(p.symbol, bits)}</td>
                  <td className="num">{p.retrieval.from < 0 ? '—' : p.retrieval.from}</td>
                  <td className="num">{p.retrieval.length}</td>
                  <td>
                    {p.injectedChar === null
                      ? '—'
                      : `${visible(p.injectedChar)} (${injectedSigns(p.injected)})`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </div>
  );
}
