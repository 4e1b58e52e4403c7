"""Metric wall time of each timing run: per-cell metrics_seconds summed (cell pass) or the
sum over sequences of each pass's seconds (sequence pass), from the cells' result JSONs."""
import json, re, sys, tarfile
from pathlib import Path
for run in (1, 2, 3):
    tar = Path(f"work/eval-pass/results_run{run}.tar")
    if not tar.is_file():
        continue
    results = []
    with tarfile.open(tar) as t:
        for m in t.getmembers():
            if m.name.endswith(".result.json"):
                results.append(json.load(t.extractfile(m)))
    kinds = {r["metric_pass"]["kind"] for r in results}
    passes = {}
    for r in results:
        mp = r["metric_pass"]
        key = (r["sequence"],) if mp["kind"] == "sequence" else (r["sequence"], r["codec"], r["point"])
        passes[key] = mp["seconds"]
    err = Path(f"work/eval-pass/run{run}.err").read_text()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", err)
    user = re.search(r"User time \(seconds\): (\S+)", err)
    system = re.search(r"System time \(seconds\): (\S+)", err)
    print(f"run {run}: {len(results)} cells, pass {kinds}, metric seconds (sum of passes) "
          f"{sum(passes.values()):.1f} over {len(passes)} passes; campaign wall {wall and wall.group(1)}, "
          f"CPU user {user and user.group(1)} s + sys {system and system.group(1)} s")

def metrics_of(run):
    out = {}
    with tarfile.open(f"work/eval-pass/results_run{run}.tar") as t:
        for m in t.getmembers():
            if m.name.endswith(".result.json"):
                r = json.load(t.extractfile(m))
                out[(r["sequence"], r["codec"], r["point"])] = r["metrics"]
    return out

available = [run for run in (1, 2, 3) if Path(f"work/eval-pass/results_run{run}.tar").is_file()]
for a, b in zip(available, available[1:]):
    ma, mb = metrics_of(a), metrics_of(b)
    diff = max(abs(ma[k][n] - mb[k][n]) for k in ma for n in ma[k])
    print(f"max |metric difference| run {a} vs run {b}: {diff:.3g} over {len(ma)} cells")
