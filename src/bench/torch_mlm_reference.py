# From the project's shared material (shared/bench/torch_mlm_reference.py), copied unchanged but for this line: the PyTorch pretraining-speed yardstick.
"""Reference yardstick: one BERT masked-language-model pretraining step in plain PyTorch.

The same work as `finetune-lab pretrain` does per step: word/position/type embeddings + LayerNorm,
N post-LN encoder layers (erf GELU), the MLM head (dense + GELU + LayerNorm, then the decoder tied to
the word embeddings plus its own bias) computed only at the masked positions (15% of the tokens),
cross-entropy over the 30,522-word vocabulary, gradient clipping at 1.0, AdamW (lr 1e-3, weight
decay 0.01), dropout 0.1 in training. Random weights and random token ids; every window is full
(no padding).

Runs on Debian's python3-torch (apt-get install python3-torch; use /usr/bin/python3).
    /usr/bin/python3 torch_mlm_reference.py --size bert-tiny --batch 32 --seq 128 --threads 2
Prints one JSON line: {"train_windows_per_s": ..., "train_tokens_per_s": ..., ...}
"""
import argparse, json, math, time
import torch
import torch.nn.functional as F

SIZES = {
    "bert-tiny": (128, 2, 2, 512),
    "bert-mini": (256, 4, 4, 1024),
    "bert-small": (512, 4, 8, 2048),
    "bert-base": (768, 12, 12, 3072),
}

p = argparse.ArgumentParser()
p.add_argument("--size", default="bert-tiny", choices=SIZES)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--mask-rate", type=float, default=0.15)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
H, N, A, I = SIZES[a.size]
V, P, D = 30522, 512, H // A
DROP = 0.1


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(H, 3 * H)
        self.o = torch.nn.Linear(H, H)
        self.ln1 = torch.nn.LayerNorm(H, eps=1e-12)
        self.f1 = torch.nn.Linear(H, I)
        self.f2 = torch.nn.Linear(I, H)
        self.ln2 = torch.nn.LayerNorm(H, eps=1e-12)

    def forward(self, x):
        B, L, _ = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, A, D).permute(2, 0, 3, 1, 4)
        s = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D), -1), DROP, self.training)
        c = (s @ v).transpose(1, 2).reshape(B, L, H)
        x = self.ln1(x + F.dropout(self.o(c), DROP, self.training))
        return self.ln2(x + F.dropout(self.f2(F.gelu(self.f1(x))), DROP, self.training))


class BertForMaskedLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.we = torch.nn.Embedding(V, H)
        self.pe = torch.nn.Embedding(P, H)
        self.te = torch.nn.Embedding(2, H)
        self.ln = torch.nn.LayerNorm(H, eps=1e-12)
        self.layers = torch.nn.ModuleList(Layer() for _ in range(N))
        self.transform = torch.nn.Linear(H, H)
        self.tln = torch.nn.LayerNorm(H, eps=1e-12)
        self.bias = torch.nn.Parameter(torch.zeros(V))

    def forward(self, ids, types, positions, targets):
        L = ids.shape[1]
        x = F.dropout(self.ln(self.we(ids) + self.pe(torch.arange(L)) + self.te(types)), DROP, self.training)
        for l in self.layers:
            x = l(x)
        h = x.reshape(-1, H)[positions]          # only the masked positions
        h = self.tln(F.gelu(self.transform(h)))
        logits = h @ self.we.weight.t() + self.bias  # decoder tied to the word embeddings
        return F.cross_entropy(logits, targets)


m = BertForMaskedLM()
m.train()
ids = torch.randint(1000, V, (a.batch, a.seq))
types = torch.zeros_like(ids)
n_masked = max(1, round(a.mask_rate * a.batch * a.seq))
positions = torch.randperm(a.batch * a.seq)[:n_masked]
targets = torch.randint(1000, V, (n_masked,))
opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)


def step():
    opt.zero_grad(set_to_none=True)
    m(ids, types, positions, targets).backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()


step()
t = time.perf_counter()
for _ in range(a.steps):
    step()
dt = (time.perf_counter() - t) / a.steps
print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "size": a.size,
                  "batch": a.batch, "seq": a.seq, "masked_per_step": n_masked,
                  "train_windows_per_s": round(a.batch / dt, 3), "train_tokens_per_s": round(a.batch * a.seq / dt, 1)}))
