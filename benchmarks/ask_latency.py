"""``QA.ask`` latency with the reader reading the default four passages and one, in one process,
in alternating blocks after a warm-up, over the questions of a test set (the goal: median <=
50 ms, p95 <= 120 ms on the 2-core machine), and the share of the time spent in the reader.

    .venv/bin/python -m benchmarks.ask_latency testsets/dev.jsonl --corpus corpus
    .venv/bin/python -m benchmarks.ask_latency /tmp/heldout-test/questions.json \\
        --corpus /tmp/heldout-test/corpus --limit 300
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from .common import stats_ms


def ask_latency(qa, questions: list[str], rounds: int = 3) -> dict:
    variants = {f"{qa.settings.reader_passages} passages": qa, "1 passage": qa.with_settings(reader_passages=1)}
    for q in variants.values():
        q.warm_up()
        for text in questions[:10]:
            q.ask(text)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(rounds):
        order = list(variants.items())
        if r % 2:
            order.reverse()
        for name, q in order:
            time.sleep(0.2)
            for text in questions:
                t0 = time.perf_counter()
                q.ask(text)
                times[name].append(time.perf_counter() - t0)
    reading: list[float] = []
    real = qa.reader.read

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            reading.append(time.perf_counter() - t0)

    qa.reader.read = timed
    try:
        for text in questions:
            qa.ask(text)
    finally:
        del qa.reader.read
    return {"questions": len(questions), "rounds": rounds, **{name: stats_ms(t) for name, t in times.items()},
            "reader_alone": stats_ms(reading)}


def main(argv=None) -> None:
    from qa import QA, load_settings
    from qa.eval.datasets import load_testset

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("testset")
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--index", type=Path, help="default: the index next to the corpus (or ./index for ./corpus)")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    index = args.index or (Path("index") if args.corpus.resolve() == Path("corpus").resolve() else args.corpus.parent / "index")
    items = load_testset(args.testset).items
    random.Random(0).shuffle(items)
    qa = QA(load_settings(corpus_dir=args.corpus, index_dir=index))
    print(json.dumps(ask_latency(qa, [i.question for i in items[:args.limit]], args.rounds), indent=2))


if __name__ == "__main__":
    main()
