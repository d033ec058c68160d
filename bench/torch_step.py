"""PyTorch anchor for bench/cpu-step.ts: one training step of the same decoder on the CPU.

  python bench/torch_step.py [--T 256] [--width 64] [--layers 2] [--heads 2] [--mlp 128]
                             [--batch 8] [--window 32] [--variant window|global] [--steps 5]
                             [--threads 1]

The architecture is src/gpu/model/model.ts, op for op: embedding E [V, C]; per layer
u = RMSNorm(h) (no mean, eps 1e-6, weight); q, k, v = u·Wqᵀ, u·Wkᵀ, u·Wvᵀ (no bias); RoPE
"rotate half" per head (base 10000) on q and k; causal attention over keys t−W+1 … t (window)
or 0 … t (global), scale 1/√D; h_mid = h + o·Woᵀ; h_out = h_mid + (silu(u2·W1ᵀ) ⊙ u2·W3ᵀ)·W2ᵀ
with u2 = RMSNorm(h_mid); logits = RMSNorm(h_L)·Eᵀ (tied head); mean cross-entropy over all
positions. Optimizer: gradient clipping at norm 1, AdamW (β 0.9/0.98, ε 1e-8, lr 3e-3, weight
decay 0.01 on matrices and the embedding, none on norm weights). Random tokens and labels, as
the TS bench. Prints one JSON line. Not a test; torch is not a dependency of the project.
"""

import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--T", type=int, default=256)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--mlp", type=int, default=0, help="MLP hidden width; 0: 2·width")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--vocab", type=int, default=97)
    p.add_argument("--variant", choices=["window", "global"], default="window")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args()


class RMSNorm(torch.nn.Module):
    def __init__(self, c: int, eps: float = 1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(c))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(T: int, D: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    inv = base ** (-torch.arange(0, D // 2, dtype=torch.float64) * 2 / D)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]  # [T, D/2]
    return ang.cos().float(), ang.sin().float()


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x [B, H, T, D]; channel i pairs with i + D/2.
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, C: int, H: int, Fh: int, std: float, out_std: float):
        super().__init__()
        self.H = H
        self.attn_norm = RMSNorm(C)
        self.mlp_norm = RMSNorm(C)
        # Weights [out, in] as model.ts (params.ts): normal(0, 0.02), the residual outputs scaled.
        w = lambda o, i, s: torch.nn.Parameter(torch.randn(o, i) * s)  # noqa: E731
        self.wq, self.wk, self.wv = w(C, C, std), w(C, C, std), w(C, C, std)
        self.wo = w(C, C, out_std)
        self.w1, self.w3 = w(Fh, C, std), w(Fh, C, std)
        self.w2 = w(C, Fh, out_std)

    def forward(self, h, cos, sin, mask, causal):
        B, T, C = h.shape
        H, D = self.H, C // self.H
        u = self.attn_norm(h)
        heads = lambda x: x.view(B, T, H, D).transpose(1, 2)  # noqa: E731
        q = rope(heads(F.linear(u, self.wq)), cos, sin)
        k = rope(heads(F.linear(u, self.wk)), cos, sin)
        v = heads(F.linear(u, self.wv))
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        h = h + F.linear(o.transpose(1, 2).reshape(B, T, C), self.wo)
        u2 = self.mlp_norm(h)
        g = F.silu(F.linear(u2, self.w1)) * F.linear(u2, self.w3)
        return h + F.linear(g, self.w2)


class Decoder(torch.nn.Module):
    def __init__(self, V: int, C: int, L: int, H: int, Fh: int):
        super().__init__()
        std = 0.02
        out_std = std / math.sqrt(2 * L)
        self.embed = torch.nn.Parameter(torch.randn(V, C) * std)
        self.layers = torch.nn.ModuleList(Layer(C, H, Fh, std, out_std) for _ in range(L))
        self.final_norm = RMSNorm(C)

    def forward(self, tokens, labels, cos, sin, mask, causal):
        h = self.embed[tokens]
        for layer in self.layers:
            h = layer(h, cos, sin, mask, causal)
        logits = F.linear(self.final_norm(h), self.embed)  # tied head
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))


def main() -> None:
    a = parse()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    Fh = a.mlp or 2 * a.width
    D = a.width // a.heads
    model = Decoder(a.vocab, a.width, a.layers, a.heads, Fh)
    cos, sin = rope_tables(a.T, D)
    if a.variant == "global" or a.window >= a.T:
        mask, causal = None, True
    else:
        t = torch.arange(a.T)
        diff = t[:, None] - t[None, :]
        mask, causal = (diff >= 0) & (diff < a.window), False  # True = attend
    decay = [p for n, p in model.named_parameters() if "norm" not in n]
    no_decay = [p for n, p in model.named_parameters() if "norm" in n]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
        lr=3e-3,
        betas=(0.9, 0.98),
        eps=1e-8,
        foreach=True,
    )
    times = []
    cpu_times = []  # CPU time per step: on a shared machine, wall time counts the waits for a core
    phases = {"forward": 0.0, "backward": 0.0, "optimizer": 0.0}
    for s in range(a.warmup + a.steps):
        tokens = torch.randint(0, a.vocab, (a.batch, a.T))
        labels = torch.randint(0, a.vocab, (a.batch, a.T))
        c0 = time.process_time()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(tokens, labels, cos, sin, mask, causal)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        t3 = time.perf_counter()
        if s >= a.warmup:
            cpu_times.append((time.process_time() - c0) * 1e3)
            times.append((t3 - t0) * 1e3)
            phases["forward"] += (t1 - t0) * 1e3 / a.steps
            phases["backward"] += (t2 - t1) * 1e3 / a.steps
            phases["optimizer"] += (t3 - t2) * 1e3 / a.steps
    print(
        json.dumps(
            {
                "impl": "torch",
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "cpus": os.cpu_count(),
                "shape": {
                    "T": a.T,
                    "width": a.width,
                    "layers": a.layers,
                    "heads": a.heads,
                    "mlpHidden": Fh,
                    "batch": a.batch,
                    "window": a.window,
                    "vocabSize": a.vocab,
                    "variant": a.variant,
                },
                "params": sum(p.numel() for p in model.parameters()),
                "stepMsMedian": statistics.median(times),
                "stepMsMin": min(times),
                "stepCpuMsMedian": statistics.median(cpu_times),
                "stepMs": [round(t, 1) for t in times],
                "phasesMs": {k: round(v, 1) for k, v in phases.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
