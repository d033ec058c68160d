"""Interop fixtures from transformers (torch, CPU, float32).

  python3 scripts/make-hf-fixtures.py            # both parts below
  python3 scripts/make-hf-fixtures.py --random   # (a) only
  python3 scripts/make-hf-fixtures.py --exports  # (b) only
  python3 scripts/make-hf-fixtures.py --random transformers-qwen3-headdim   # only the folders named

(a) Tiny random LlamaForCausalLM and MistralForCausalLM (sliding window) of the exported
    shape (tied embeddings, no grouped-query attention, no biases), and the Llama family's
    other features: a Llama with grouped-query attention and an untied head, a Qwen2 (q/k/v
    biases, grouped-query attention, untied head) and a Qwen3 (q/k norm per head, grouped-query
    attention, tied head), and a Qwen3 whose head_dim is not hidden / heads (as Qwen3-0.6B's:
    128 at hidden 1024 with 16 heads), saved with save_pretrained under
    test/fixtures/hf/transformers-*/ with logits.json: their logits for FIXTURE_TOKENS.
(b) Every playground export under test/fixtures/hf/playground-*/ (written by
    `npx tsx scripts/make-playground-fixtures.ts`) loaded with AutoModelForCausalLM and
    its tokenizer with AutoTokenizer; writes transformers-logits.json beside it.

test/interop/hf.test.ts compares both with the playground's CPU logits.
"""

import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    MistralConfig,
    MistralForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

ROOT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "hf"
# The same list as FIXTURE_TOKENS in test/interop/seeded-model.ts.
TOKENS = [3, 17, 5, 39, 0, 22, 8, 8, 31, 12, 5, 17]


def logits_of(model) -> list:
    model.eval()
    with torch.no_grad():
        out = model(torch.tensor([TOKENS]), use_cache=False).logits[0]
    return out.to(torch.float32).tolist()


def write_logits(path: Path, model, extra: dict) -> None:
    record = {
        "tokens": TOKENS,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "attn_implementation": model.config._attn_implementation,
        **extra,
        "logits": logits_of(model),
    }
    path.write_text(json.dumps(record) + "\n")


def scale_up(model, seed: int) -> None:
    """Weights at scales where every part matters (HF's init is std 0.02, norms exactly 1, biases 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:
                p.copy_(1 + 0.3 * (2 * torch.rand(p.shape, generator=g) - 1))
            elif "embed_tokens" in name:
                p.copy_(2 * torch.rand(p.shape, generator=g) - 1)
            else:
                bound = (3 / p.shape[1]) ** 0.5
                p.copy_(bound * (2 * torch.rand(p.shape, generator=g) - 1))


def random_models(only: set) -> None:
    common = dict(
        vocab_size=40,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=16,
        rms_norm_eps=1e-5,
        rope_theta=500.0,
        tie_word_embeddings=True,
        hidden_act="silu",
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    # 4 query heads of 4 channels on fewer key/value heads.
    grouped = {**common, "num_attention_heads": 4, "head_dim": 4}
    made = [
        ("transformers-llama", LlamaForCausalLM(LlamaConfig(**common, attention_bias=False, mlp_bias=False)), 1),
        ("transformers-mistral", MistralForCausalLM(MistralConfig(**common, sliding_window=4)), 2),
        (
            "transformers-llama-gqa",
            LlamaForCausalLM(
                LlamaConfig(
                    **{**grouped, "num_key_value_heads": 2, "tie_word_embeddings": False},
                    attention_bias=False,
                    mlp_bias=False,
                )
            ),
            3,
        ),
        (
            "transformers-qwen2",
            Qwen2ForCausalLM(Qwen2Config(**{**grouped, "num_key_value_heads": 2, "tie_word_embeddings": False})),
            4,
        ),
        (
            "transformers-qwen3",
            Qwen3ForCausalLM(Qwen3Config(**{**grouped, "num_key_value_heads": 1}, attention_bias=False)),
            5,
        ),
        # 4 query heads of 8 channels on 2 key/value heads at hidden 16: q is 32 wide, k and v 16.
        (
            "transformers-qwen3-headdim",
            Qwen3ForCausalLM(
                Qwen3Config(**{**grouped, "head_dim": 8, "num_key_value_heads": 2}, attention_bias=False)
            ),
            6,
        ),
    ]
    for name, model, seed in made:
        if only and name not in only:
            continue
        model = model.to(torch.float32)
        scale_up(model, seed)
        out = ROOT / name
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out, safe_serialization=True)
        write_logits(out / "logits.json", model, {"made_by": "scripts/make-hf-fixtures.py (a)"})
        print(f"wrote {out}")


def exported_models(only: set) -> None:
    for folder in sorted(ROOT.glob("playground-*")):
        if only and folder.name not in only:
            continue
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        text = "".join(tokenizer.convert_ids_to_tokens(TOKENS))
        encoded = tokenizer(text)["input_ids"]
        assert encoded == TOKENS, f"{folder.name}: tokenizer gives {encoded} for {text!r}"
        assert tokenizer.decode(TOKENS) == text, f"{folder.name}: decode gives {tokenizer.decode(TOKENS)!r}"
        write_logits(
            folder / "transformers-logits.json",
            model,
            {
                "made_by": "scripts/make-hf-fixtures.py (b)",
                "class": type(model).__name__,
                "text": text,
            },
        )
        print(f"wrote {folder / 'transformers-logits.json'} ({type(model).__name__})")


if __name__ == "__main__":
    args = set(sys.argv[1:])
    # Folder names given: only those are (re)written, the other fixtures stay as committed.
    only = {a for a in args if not a.startswith("--")}
    parts = args - only
    if not parts or "--random" in parts:
        random_models(only)
    if not parts or "--exports" in parts:
        exported_models(only)
