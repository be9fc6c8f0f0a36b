"""Same seed, same bytes, for the disease kernel alone: step a few muscles without readouts and keep
every daily tally and every state array, to compare two trees (or two versions of the kernel).

Usage: ``PYTHONPATH=<tree>/src python benchmarks/kernel_bytes.py OUT.npz`` once per tree, then
``python benchmarks/kernel_bytes.py --compare A.npz B.npz`` (exit 1 if any array differs).

The runs: SOD1-G93A (every muscle, to end stage), the same with soma death blocked, one patient's
biceps at the reduced fidelity of ``human-als`` over six years in one kernel call (the
``progression-human`` benchmark's muscle), and a full human TA (250,000 fibres, so stepped in
parallel chunks) over 1,500 days. Days are stepped in stretches of 91, as readouts cut them.
"""

from __future__ import annotations

import sys
import time

import numpy as np

STATE = ("stage", "timer", "denerv", "atrophy0", "tsc", "level", "recovering", "soma_alive", "size", "functional")
STATE += ("soma_stage", "unit_days", "counts")


def record(out: str) -> None:
    from endplate.disease.resolve import resolve
    from endplate.disease.scenario import load_scenario
    from endplate.disease.simulate import Untreated, init_muscle, run_days

    human = {"onset_delay_days": {}, "onset_site": ""}
    runs = {
        "sod1": (load_scenario("sod1-g93a"), 124, 91),
        "sod1-bax": (load_scenario("sod1-g93a", soma_death_blocked=True), 124, 91),
        "biceps": (load_scenario("human-als", muscles=["biceps"], end_day=2190, probe_muscle="biceps", **human), 2190, 2191),
        "ta-full": (
            load_scenario("human-als", muscles=["TA"], muscle_set={}, end_day=1500, probe_muscle="TA", **human),
            1500,
            91,
        ),
    }
    arrays: dict[str, np.ndarray] = {}
    for tag, (sc, end, stretch) in runs.items():
        model = resolve(sc)
        states = {m: init_muscle(model, m, i) for i, m in enumerate(sc.muscles)}
        history: dict[str, list] = {m: [] for m in states}

        def keep(s, history=history) -> bool:
            for m in history:
                history[m].append(s.tallies[m])
            return False

        c0 = time.process_time()
        run_days(model, states, np.arange(sc.start_day, end + 1), Untreated(), lambda d, k=stretch: d + k - 1, keep)
        print(f"{tag}: {time.process_time() - c0:.3f} CPU s", flush=True)
        for m, st in states.items():
            arrays[f"{tag}/{m}/history"] = np.concatenate(history[m])
            for k in STATE:
                arrays[f"{tag}/{m}/{k}"] = getattr(st, k)
            for k in ("owner", "fibre_type", "unit_alive"):
                arrays[f"{tag}/{m}/{k}"] = getattr(st.anatomy, k)
    np.savez(out, **arrays)


def compare(a_path: str, b_path: str) -> int:
    a, b = np.load(a_path), np.load(b_path)
    names = sorted(set(a.files) | set(b.files))
    bad = [
        k for k in names if k not in a.files or k not in b.files or a[k].dtype != b[k].dtype or a[k].tobytes() != b[k].tobytes()
    ]
    print(f"{len(names)} arrays, {len(bad)} differ" + (": " + ", ".join(bad) if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    record(sys.argv[1])
