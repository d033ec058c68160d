// Named errors of the Hugging Face interop: `reason` says which limit was hit, so callers
// (the command line, the UI, tests) can tell an unsupported model from a broken file.

export type HfImportReason =
  | 'architecture' // not Llama / Mistral / Ministral / Qwen2 / Qwen3
  | 'grouped-query-attention' // num_key_value_heads does not divide num_attention_heads
  | 'bias' // o_proj or MLP biases (q/k/v biases only as Qwen2 has them)
  | 'qk-norm' // q/k norm other than Qwen3's (OLMo 2, Gemma 3, …)
  | 'untied-head' // untied without lm_head, or lm_head contradicting tie_word_embeddings
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
