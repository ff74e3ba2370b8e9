# From the project's shared material (shared/bench/torch_bert_reference.py), copied unchanged but for this line: the PyTorch speed yardstick.
"""Reference yardstick: one BERT sequence-classification training step in plain PyTorch.

The same work as a project's own benchmark: word/position/type embeddings + LayerNorm,
N post-LN encoder layers (erf GELU), pooler (tanh), 2-way classifier, cross-entropy,
AdamW step. Random weights, random token ids, full attention mask.

Runs on Debian's python3-torch (apt-get install python3-torch; use /usr/bin/python3).
    /usr/bin/python3 torch_bert_reference.py --size bert-mini --batch 8 --seq 128 --threads 2
Prints one JSON line: {"forward_samples_per_s":..., "train_samples_per_s":..., ...}
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
p.add_argument("--size", default="bert-mini", choices=SIZES)
p.add_argument("--batch", type=int, default=8)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--reps", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
H, N, A, I = SIZES[a.size]
V, P, D = 30522, 512, H // A


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(H, 3 * H)
        self.o = torch.nn.Linear(H, H)
        self.ln1 = torch.nn.LayerNorm(H, eps=1e-12)
        self.f1 = torch.nn.Linear(H, I)
        self.f2 = torch.nn.Linear(I, H)
        self.ln2 = torch.nn.LayerNorm(H, eps=1e-12)

    def forward(self, x, bias):
        B, L, _ = x.shape
        q, k, v = self.qkv(x).view(B, L, 3, A, D).permute(2, 0, 3, 1, 4)
        s = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D) + bias, -1)
        c = (s @ v).transpose(1, 2).reshape(B, L, H)
        x = self.ln1(x + self.o(c))
        return self.ln2(x + self.f2(F.gelu(self.f1(x))))


class Bert(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.we = torch.nn.Embedding(V, H)
        self.pe = torch.nn.Embedding(P, H)
        self.te = torch.nn.Embedding(2, H)
        self.ln = torch.nn.LayerNorm(H, eps=1e-12)
        self.layers = torch.nn.ModuleList(Layer() for _ in range(N))
        self.pool = torch.nn.Linear(H, H)
        self.cls = torch.nn.Linear(H, 2)

    def forward(self, ids, types, mask):
        L = ids.shape[1]
        x = self.ln(self.we(ids) + self.pe(torch.arange(L)) + self.te(types))
        bias = (1.0 - mask[:, None, None, :].float()) * -1e9
        for l in self.layers:
            x = l(x, bias)
        return self.cls(torch.tanh(self.pool(x[:, 0])))


m = Bert()
ids = torch.randint(1000, V, (a.batch, a.seq))
types = torch.zeros_like(ids)
mask = torch.ones_like(ids)
y = torch.randint(0, 2, (a.batch,))
opt = torch.optim.AdamW(m.parameters(), lr=2e-5, weight_decay=0.01)


def step(train):
    if train:
        m.train()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(ids, types, mask), y).backward()
        opt.step()
    else:
        m.eval()
        with torch.no_grad():
            m(ids, types, mask)


res = {"impl": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "size": a.size,
       "batch": a.batch, "seq": a.seq}
for train in (False, True):
    step(train)
    t = time.perf_counter()
    for _ in range(a.reps):
        step(train)
    dt = (time.perf_counter() - t) / a.reps
    res["train_samples_per_s" if train else "forward_samples_per_s"] = round(a.batch / dt, 3)
print(json.dumps(res))
