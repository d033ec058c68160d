// Named errors of the Hugging Face interop: `reason` says which limit was hit, so callers
// (the command line, the UI, tests) can tell an unsupported model from a broken file.

export type HfImportReason =
  | 'architecture' // not Llama / Mistral / Ministral
  | 'grouped-query-attention' // num_key_value_heads ≠ num_attention_heads
  | 'bias' // attention or MLP biases
  | 'qk-norm' // q/k RMSNorm (Qwen3, OLMo 2, …)
  | 'untied-head' // lm_head differs from the embedding
  | 'dtype' // tensors not F32 / F16 / BF16
  | 'rope' // RoPE scaling or a partial rotary factor
  | 'activation' // hidden_act other than silu
  | 'config' // a field missing, out of range or inconsistent
  | 'tensor' // a tensor missing, extra, misshapen or not finite
  | 'file'; // unreadable or malformed file

export class HfImportError extends Error {
  readonly reason: HfImportReason;
  constructor(reason: HfImportReason, message: string) {
    super(message);
    this.name = 'HfImportError';
    this.reason = reason;
  }
}

export type HfExportReason = 'attention' | 'config' | 'tensor' | 'vocabulary';

export class HfExportError extends Error {
  readonly reason: HfExportReason;
  constructor(reason: HfExportReason, message: string) {
    super(message);
    this.name = 'HfExportError';
    this.reason = reason;
  }
}
