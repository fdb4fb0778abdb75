"""Train the span reader from the packaged all-MiniLM-L6-v2 weights (``qa train reader``).

Recipe (the model card, ``qa/models/README.md``, records the run that shipped):
- examples from ``qa.reader.examples`` over the training articles of the fixed split
  (``qa.reader.squad``): each question's window plus hard negatives;
- BERT encoder from the packaged weights and a linear span head (start, end) over its tokens;
  [CLS] is the no-answer position;
- AdamW, linear warm-up then decay, gradient clipping, bf16 autocast on CPUs that have it;
- batches of similar length (little padding), a seeded order, so a seed gives the same run;
- a checkpoint every ``checkpoint_every`` steps into the output folder, and ``resume`` picks
  the run up from the last one (same examples, same order, same optimiser state).

torch and transformers are imported here only; serving runs the exported ONNX graph.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from qa.reader.encoding import MAX_LENGTH, encode_pairs, load_tokenizer, token_targets
from qa.reader.examples import KINDS, Example, make_examples, unanswerable_examples
from qa.reader.squad import DEFAULT_DATA, load_squad, split

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoint.pt"
FINAL = "reader-fp32.pt"


@dataclass(frozen=True)
class TrainConfig:
    data: str = str(DEFAULT_DATA)
    out: str = "runs/reader"
    seed: int = 13
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 8e-5
    weight_decay: float = 0.01
    warmup: float = 0.06  # share of the steps
    negative_rate: float = 0.55
    max_length: int = MAX_LENGTH
    max_examples: int = 0  # 0: all
    checkpoint_every: int = 250
    bf16: str = "auto"  # auto | on | off
    # a reader to go on training: its fp32 weights (.pt) or its int8 graph (qa.reader.warmstart);
    # "": the packaged MiniLM
    init: str = ""
    # A SQuAD 2.0 file with people-written unanswerable questions, and which of its articles to
    # train on: their questions (answerable and not) join the examples ``extra_repeat`` times,
    # each time with other windows.
    extra: str = ""
    extra_titles: tuple[str, ...] = ()
    extra_repeat: int = 3


def _bf16(setting: str) -> bool:
    if setting != "auto":
        return setting == "on"
    from qa.embed.model import cpu_has_bf16_matmul

    return cpu_has_bf16_matmul()


class SpanReader:  # a thin factory, so importing this module does not import torch
    @staticmethod
    def build(model_dir: Path):
        import torch
        from transformers import AutoModel

        class _Reader(torch.nn.Module):
            def __init__(self, bert):
                super().__init__()
                self.bert = bert
                self.span = torch.nn.Linear(bert.config.hidden_size, 2)

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                                   token_type_ids=token_type_ids).last_hidden_state
                start, end = self.span(hidden).float().unbind(-1)
                return start, end

        bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager",
                                         add_pooling_layer=False)
        return _Reader(bert)


def tensorize(tok, examples: list[Example], max_length: int) -> list[dict]:
    """Each example as token ids and (start, end) targets; positives whose answer truncation
    cut off are dropped."""
    rows = []
    for i in range(0, len(examples), 1024):
        part = examples[i:i + 1024]
        enc = encode_pairs(tok, [e.question for e in part], [e.passage for e in part], max_length)
        for r, ex in enumerate(part):
            n = int(enc.attention_mask[r].sum())
            if ex.answer is None:
                target = (0, 0)
            else:
                target = token_targets(enc, r, *ex.answer)
                if target is None:
                    continue
            rows.append({"ids": enc.input_ids[r, :n], "types": enc.token_type_ids[r, :n],
                         "last": int(enc.passage_ends[r]), "target": target})
    return rows


def batches(rows: list[dict], batch_size: int, seed: int) -> list[list[int]]:
    """Row indices in batches of similar length: shuffle, sort within pools of 50 batches by
    length, cut, then shuffle the batches (the classic bucketing trick: ~no padding, random order)."""
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    pool = 50 * batch_size
    out = []
    for i in range(0, len(order), pool):
        part = sorted(order[i:i + pool], key=lambda j: len(rows[j]["ids"]))
        out += [part[k:k + batch_size] for k in range(0, len(part), batch_size)]
    rng.shuffle(out)
    return out


def collate(rows: list[dict], idx: list[int]):
    import torch

    length = max(len(rows[i]["ids"]) for i in idx)
    ids = torch.zeros((len(idx), length), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    # loss only over [CLS] and the passage: the question and [SEP] are never an answer
    allowed = torch.zeros((len(idx), length), dtype=torch.bool)
    starts, ends = [], []
    for b, i in enumerate(idx):
        r = rows[i]
        n = len(r["ids"])
        ids[b, :n] = torch.from_numpy(r["ids"])
        types[b, :n] = torch.from_numpy(r["types"])
        mask[b, :n] = 1
        first = r["last"] - int(r["types"][:r["last"]].sum())
        allowed[b, 0] = True
        allowed[b, first:r["last"]] = True
        starts.append(r["target"][0])
        ends.append(r["target"][1])
    return ids, mask, types, allowed, torch.tensor(starts), torch.tensor(ends)


def extra_examples(config: TrainConfig) -> list[Example]:
    """The examples of ``config.extra``'s chosen articles (none without it)."""
    if not config.extra:
        return []
    by_title = {a.title: a for a in load_squad(Path(config.extra))}
    missing = [t for t in config.extra_titles if t not in by_title]
    if missing or not config.extra_titles:
        raise SystemExit(f"{config.extra} has no article {missing[0]!r}" if missing else
                         "name the articles of the extra file to train on (extra_titles)")
    chosen = [by_title[t] for t in config.extra_titles]
    out: list[Example] = []
    for r in range(config.extra_repeat):
        seed = config.seed + 1 + r
        out += make_examples(chosen, seed=seed, negative_rate=config.negative_rate)
        out += unanswerable_examples(chosen, seed=seed)
    return out


def train(config: TrainConfig, resume: bool = True, progress: bool = True) -> Path:
    """Train (or resume) and return the path of the final fp32 weights."""
    import torch
    from tqdm import tqdm

    from qa.embed.model import force_offline, model_path

    force_offline()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores this process may use (taskset, containers)
    source = Path(model_path())
    tok = load_tokenizer(source)

    articles = load_squad(Path(config.data))
    train_articles, _, _ = split(articles)
    examples = make_examples(train_articles, seed=config.seed, negative_rate=config.negative_rate, progress=progress)
    if config.max_examples:
        examples = examples[:config.max_examples]
    examples += extra_examples(config)
    rows = tensorize(tok, examples, config.max_length)
    plan = batches(rows, config.batch_size, config.seed)
    total = math.ceil(len(plan) * config.epochs)
    plan = (plan * math.ceil(config.epochs))[:total]  # a second pass repeats the order; fine for <= 2
    log.info("%d examples (%d after truncation), %d steps", len(examples), len(rows), total)

    model = SpanReader.build(source)
    if config.init.endswith(".pt"):
        model.load_state_dict(torch.load(config.init, map_location="cpu", weights_only=True))
    elif config.init:
        from qa.reader.warmstart import state_dict_from_onnx

        model.load_state_dict(state_dict_from_onnx(Path(config.init)))
    decay = [p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm"))]
    rest = [p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm"))]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                               {"params": rest, "weight_decay": 0.0}], lr=config.learning_rate)
    warm = max(1, int(config.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    step = 0
    ckpt = out / CHECKPOINT
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        if state["config"] != asdict(config):
            raise SystemExit(f"{ckpt} was made with other settings; use another --out or --no-resume")
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        torch.set_rng_state(state["torch_rng"])
        log.info("resuming at step %d of %d", step, total)
    use_bf16 = _bf16(config.bf16)
    model.train()
    bar = tqdm(total=total, initial=step, desc="Training reader", unit="step", disable=not progress,
               mininterval=5.0)
    smooth = None
    started = time.monotonic()
    while step < total:
        ids, mask, types, allowed, starts, ends = collate(rows, plan[step])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            s_logits, e_logits = model(ids, mask, types)
        s_logits = s_logits.masked_fill(~allowed, -1e4)
        e_logits = e_logits.masked_fill(~allowed, -1e4)
        loss = (torch.nn.functional.cross_entropy(s_logits, starts) +
                torch.nn.functional.cross_entropy(e_logits, ends)) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        step += 1
        smooth = loss.item() if smooth is None else 0.98 * smooth + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{smooth:.3f}", lr=f"{sched.get_last_lr()[0]:.1e}", refresh=False)
        if step % config.checkpoint_every == 0 or step == total:
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "sched": sched.state_dict(),
                        "step": step, "torch_rng": torch.get_rng_state(), "config": asdict(config)}, tmp)
            os.replace(tmp, ckpt)
    bar.close()
    final = out / FINAL
    tmp = final.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, final)
    (out / "train.json").write_text(json.dumps({
        "config": asdict(config), "examples": len(examples), "rows": len(rows), "steps": total,
        "kinds": {k: sum(1 for e in examples if e.kind == k) for k in KINDS},
        "bf16": use_bf16, "seconds_this_run": round(time.monotonic() - started, 1), "final_loss": smooth,
    }, indent=2), encoding="utf-8")
    return final
