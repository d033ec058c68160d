"""Byte-level BPE tokenizer fixtures from the `tokenizers` library (pip install tokenizers).

  python3 scripts/make-tokenizer-fixtures.py

Trains two tiny tokenizers on TEXT below, shaped like the real ones:
  gpt2-digits: SmolLM2's pipeline (Digits(individual) then ByteLevel with GPT-2's regex);
  qwen2: Qwen2's (NFC, a Split on Qwen2's regex, ByteLevel without regex, ignore_merges,
         added tokens <|endoftext|> and <|im_start|>).
Writes test/fixtures/tokenizer/<name>/tokenizer.json and expected.json (ids and decoded text
of SAMPLES, as tokenizers computes them); test/interop/tokenizer.test.ts checks src/interop/tokenizer.ts
against them.
"""

import json
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

ROOT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "tokenizer"

TEXT = """Call me Ishmael. Some years ago—never mind how long precisely—having little or no money
in my purse, and nothing particular to interest me on shore, I thought I would sail about a little
and see the watery part of the world. It's a way I have of driving off the spleen, and I'll say
it's 1851 or 2024; we've 12345 reasons. Ça va? Ünïcödé naïve café, 日本語のテキスト, 🐳 whales!
	Tabs	and   spaces,   newlines

and CRLF\r\nlines. They'd say "WE'LL GO" and she'd said 'no'. x=3.14159; y = f(x) + 42
"""

SAMPLES = [
    "Call me Ishmael.",
    "It's 1851; we've 12345 reasons, THEY'LL see.",
    "  leading spaces and trailing   ",
    "line one\nline two\r\n\n\ttabbed",
    "Ça va? naïve café 日本語 🐳 whales",
    "unseen words: zephyr quixotic jumbo",
    "<|im_start|>user hello<|endoftext|>",
    "Cafe\u0301 (decomposed)",
    "",
]

QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def build(name: str) -> Tokenizer:
    tok = Tokenizer(models.BPE(ignore_merges=(name == "qwen2")))
    if name == "qwen2":
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    tok.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>", "<|im_start|>"] if name == "qwen2" else ["<|endoftext|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([TEXT] * 3, trainer)
    return tok


def main() -> None:
    for name in ["gpt2-digits", "qwen2"]:
        tok = build(name)
        out = ROOT / name
        out.mkdir(parents=True, exist_ok=True)
        tok.save(str(out / "tokenizer.json"))
        cases = []
        for text in SAMPLES:
            ids = tok.encode(text, add_special_tokens=False).ids
            cases.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
        (out / "expected.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n")
        print(name, tok.get_vocab_size(), [len(c["ids"]) for c in cases])


if __name__ == "__main__":
    main()
