#!/usr/bin/env python3
"""PyTorch reference for `make bench`: the same 60-40-2 MLP, Adam(lr=0.01), softmax cross-entropy,
80 full-batch epochs with train and validation loss/accuracy/macro-F1 every epoch, one thread.

Data: the same stratified 0.25 split and train-only standardisation as SonarLab (the split indices come
from `sonarlab prepare`'s split.json when given, else a seeded NumPy split of the same sizes).

Usage:
  torch_reference.py --data data/sonar.all-data [--split prepared/split.json] [--repeats N] [--json]
  With --process, trains once and prints the summary (the "whole process" comparison).
"""
import argparse
import json
import statistics
import sys
import time

import torch

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def load(path, split_path):
    rows = [line.strip().split(",") for line in open(path) if line.strip()]
    x = torch.tensor([[float(v) for v in r[:60]] for r in rows], dtype=torch.float32)
    y = torch.tensor([1 if r[60] == "M" else 0 for r in rows], dtype=torch.int64)
    if split_path:
        split = json.load(open(split_path))
        # split.json holds 1-based data-file lines; the file has no blank lines, so line = index + 1.
        train = [i - 1 for i in split["train_lines"]]
        val = [i - 1 for i in split["validation_lines"]]
    else:
        g = torch.Generator().manual_seed(42)
        train, val = [], []
        for cls in (0, 1):
            idx = (y == cls).nonzero().flatten()
            idx = idx[torch.randperm(len(idx), generator=g)].tolist()
            take = round(0.25 * len(idx))
            val += idx[:take]
            train += idx[take:]
    return x[train], y[train], x[val], y[val]


def macro_f1(pred, y):
    f1s = []
    for c in (0, 1):
        tp = ((pred == c) & (y == c)).sum().item()
        fp = ((pred == c) & (y != c)).sum().item()
        fn = ((pred != c) & (y == c)).sum().item()
        f1s.append(0.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / 2


def train(xt, yt, xv, yv, epochs=80, seed=42):
    torch.manual_seed(seed)
    mean, std = xt.mean(0), xt.std(0, unbiased=False).clamp_min(1e-12)
    xt, xv = (xt - mean) / std, (xv - mean) / std
    model = torch.nn.Sequential(torch.nn.Linear(60, 40), torch.nn.ReLU(), torch.nn.Linear(40, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    history = []
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        logits = model(xt)
        loss = loss_fn(logits, yt)
        loss.backward()
        opt.step()
        pred = logits.argmax(1)
        train_metrics = (loss.item(), (pred == yt).float().mean().item(), macro_f1(pred, yt))
        with torch.no_grad():
            vl = model(xv)
            vpred = vl.argmax(1)
            val_metrics = (loss_fn(vl, yv).item(), (vpred == yv).float().mean().item(), macro_f1(vpred, yv))
        history.append((train_metrics, val_metrics))
    return history


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="data/sonar.all-data")
    ap.add_argument("--split")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--process", action="store_true")
    args = ap.parse_args()
    xt, yt, xv, yv = load(args.data, args.split)
    if args.process:
        history = train(xt, yt, xv, yv)
        best = min(history, key=lambda h: h[1][0])
        print(json.dumps({"validation": {"loss": best[1][0], "accuracy": best[1][1], "f1": best[1][2]}}))
        return
    train(xt, yt, xv, yv)  # warm-up
    train(xt, yt, xv, yv)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        history = train(xt, yt, xv, yv)
        times.append(time.perf_counter() - t)
    best = min(history, key=lambda h: h[1][0])
    print(json.dumps({"loop_ms_median": 1000 * statistics.median(times), "loop_ms_min": 1000 * min(times),
                      "runs": len(times), "validation_accuracy": best[1][1], "torch": torch.__version__}))


if __name__ == "__main__":
    sys.exit(main())
