// Form fields with their validation messages right beside them.

import { type ReactNode, useId } from 'react';

export interface FieldProps {
  label: string;
  /** Validation messages for this field (empty: valid). */
  messages?: string[];
  /** Allowed but worth saying (a window that covers the whole sequence), shown beside the field. */
  warnings?: string[];
  hint?: ReactNode;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
  wide?: boolean;
}

export function Field({ label, messages = [], warnings = [], hint, children, wide }: FieldProps) {
  const id = useId();
  const msgId = `${id}-msg`;
  const invalid = messages.length > 0;
  return (
    <div className={`field${wide ? ' field-wide' : ''}${invalid ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': invalid, ...(invalid || hint ? { 'aria-describedby': msgId } : {}) })}
      {invalid ? (
        <div id={msgId} className="field-messages">
          {messages.map((m) => (
            <p key={m} className="field-error" data-testid="field-error">
              {/* Validator messages read on from the label ("Width must be…"); others start with ": ". */}
              {label}
              {m.startsWith(':') ? m : ` ${m}`}
            </p>
          ))}
        </div>
      ) : warnings.length > 0 ? (
        <div id={msgId} className="field-messages">
          {warnings.map((w) => (
            <p key={w} className="field-hint warn" data-testid="field-warning">
              {label} {w}
            </p>
          ))}
        </div>
      ) : hint ? (
        <p id={msgId} className="field-hint">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export interface TextInputProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  messages?: string[];
  warnings?: string[];
  hint?: ReactNode;
  inputMode?: 'numeric' | 'decimal' | 'text';
  placeholder?: string;
  wide?: boolean;
}

export function TextField({
  label,
  value,
  onChange,
  messages,
  warnings,
  hint,
  inputMode = 'numeric',
  placeholder,
  wide,
}: TextInputProps) {
  return (
    <Field label={label} messages={messages} warnings={warnings} hint={hint} wide={wide}>
      {(p) => (
        <input
          {...p}
          type="text"
          inputMode={inputMode}
          spellCheck={false}
          autoComplete="off"
          value={value}
          placeholder={placeholder}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export interface SelectFieldProps<T extends string> {
  label: string;
  value: T;
  options: ReadonlyArray<{ value: T; label: string }>;
  onChange: (value: T) => void;
  /** E.g. to refresh a list of options when the user is about to pick. */
  onFocus?: () => void;
  messages?: string[];
  hint?: ReactNode;
  wide?: boolean;
}

export function SelectField<T extends string>({
  label,
  value,
  onFocus,
  options,
  onChange,
  messages,
  hint,
  wide,
}: SelectFieldProps<T>) {
  return (
    <Field label={label} messages={messages} hint={hint} wide={wide}>
      {(p) => (
        <select {...p} value={value} onFocus={onFocus} onChange={(e) => onChange(e.target.value as T)}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
