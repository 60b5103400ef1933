"""Estimator error, measured: real CPU training steps and published GPU runs.

    python bench/estimate_bench.py            # CPU pairs (tiny models + the default model) and published runs
    python bench/estimate_bench.py --fast     # skip the default model

Every CPU pair trains two real optimizer steps and reads the exact peak of the CPU allocator (profiler
memory events); on a CUDA machine the same harness would read torch.cuda.max_memory_allocated. The
published table (core/estimate/published_runs.json, explained in docs/published_memory.md) is compared with
the counter each source reported.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.estimate.validation import (
    CPU_CASES,
    DEFAULT_MODEL_CASES,
    load_published,
    measure_cpu_case,
    median_absolute_error,
    predict_published,
)

MIB, GIB = 2**20, 2**30


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fast", action="store_true", help="skip the real default model")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))

    cases = CPU_CASES + (() if args.fast else DEFAULT_MODEL_CASES)
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        counter = "torch.cuda.max_memory_allocated" if device == "cuda" else "profiler memory events"
        print(
            f"{device.upper()}: estimate vs measured peak of live tensor memory (2 training steps each; {counter})"
        )
        print(f"{'case':52s} {'estimate':>11s} {'measured':>11s} {'error':>8s}  peak moment (estimate)")
        pairs = []
        for case in cases:
            start = time.perf_counter()
            try:
                pair = measure_cpu_case(case, device)
            except Exception as error:  # the default model may be missing on a fresh machine
                print(f"{case.name:52s} skipped: {error}")
                continue
            pairs.append(pair)
            print(
                f"{pair.name:52s} {pair.estimated / MIB:8.1f} MiB {pair.measured / MIB:8.1f} MiB "
                f"{pair.error:+8.1%}  {pair.peak_moment} ({time.perf_counter() - start:.1f} s)"
            )
        if pairs:
            print(
                f"{device.upper()}: {len(pairs)} pairs, median |error| {median_absolute_error(pairs):.1%}, "
                f"worst {max(abs(p.error) for p in pairs):.1%}\n"
            )

    table = load_published()
    print("Published GPU runs: estimate vs reported peak (counter as the source reports it)")
    print(
        f"{'run':32s} {'counter':10s} {'estimate':>10s} {'reported':>10s} {'error':>8s}  peak moment (estimate)"
    )
    pairs = []
    for run in table["runs"]:
        pair = predict_published(run)
        pairs.append(pair)
        print(
            f"{run['id']:32s} {run['reported']:10s} {pair.estimated / GIB:6.1f} GiB {pair.measured / GIB:6.1f} GiB "
            f"{pair.error:+8.1%}  {pair.peak_moment}"
        )
    allocated = [p for p, run in zip(pairs, table["runs"], strict=True) if run["reported"] == "allocated"]
    print(
        f"Published: {len(pairs)} runs, median |error| {median_absolute_error(pairs):.1%} "
        f"(allocated-counter runs only: {median_absolute_error(allocated):.1%} over {len(allocated)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
