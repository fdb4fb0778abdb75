"""Follow-up questions asked the way the chat asks them.

The test sets' follow-ups carry a history without sources, so ``qa eval`` never exercises the
reading around the previous answer's sentence (qa/answer/read.py). This asks each set's first
question for real and then the follow-up, with that answer and its ``source`` as history:

    python scripts/followups.py testsets/dev.jsonl testsets/heldout.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa import QA, load_settings  # noqa: E402
from qa.eval.metrics import answer_contained, token_f1  # noqa: E402
from qa.surfaces.view import answer_json  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("testsets", nargs="+", type=Path, help="JSON Lines test sets (items with a history are used)")
    args = ap.parse_args(argv)
    items = [d for f in args.testsets for d in map(json.loads, f.read_text(encoding="utf-8").splitlines())
             if d.get("history") and d.get("answers")]
    qa = QA(load_settings())
    qa.warm_up()
    firsts: dict[str, dict] = {}
    contained = f1 = 0.0
    for d in items:
        first = d["history"][0]["content"]
        if first not in firsts:
            firsts[first] = answer_json(qa.ask(first))
        got = firsts[first]
        history = [d["history"][0], {"role": "assistant", "content": got["answer"] or "", "source": got.get("source")}]
        answer = answer_json(qa.ask(d["question"], history=history))["answer"]
        contained += answer_contained(answer, d["answers"])
        f1 += token_f1(answer, d["answers"])
        print(f"{d['id']}: {d['question']!r} -> {answer!r}", file=sys.stderr)
    result = {"follow_ups": len(items), "contained": int(contained), "token_f1": round(100 * f1 / max(1, len(items)), 1)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
