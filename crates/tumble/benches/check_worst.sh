#!/usr/bin/env bash
# The worst documents `tumble check` can be given, timed (CPU: user + sys, best of 5) with this
# checkout's release binary and, side by side in the same run, with the binary of a baseline
# revision of this repository (default: c3206cb, the last one whose motor interlock check walked
# events). Usage, from anywhere:
#
#   crates/tumble/benches/check_worst.sh [BASELINE_REV]
#
# The baseline is built once in target/baseline (a git worktree of this repository).
set -euo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$PWD
BASE_REV=${1:-c3206cb}
WORK=$ROOT/target/check-worst
mkdir -p "$WORK"

cargo build --release -q -p tumble
NEW=$ROOT/target/release/tumble
if [[ ! -d target/baseline ]]; then
    git worktree add -f -q target/baseline "$BASE_REV"
fi
(cd target/baseline && git checkout -q "$BASE_REV" && CARGO_TARGET_DIR="$ROOT/target/baseline-target" cargo build --release -q -p tumble)
OLD=$ROOT/target/baseline-target/release/tumble

"$NEW" board > "$WORK/board.toml"
sed 's/^reverse_dead_time_ms = .*/reverse_dead_time_ms = 1/' "$WORK/board.toml" > "$WORK/dead-time.toml"

python3 - "$WORK" <<'PY'
import json, sys
out = sys.argv[1]
def motor(repeat, steps, start=0):
    return {"compId": "Motor", "start": start,
            "motorConfig": {"repeatTimes": repeat, "pattern": steps}}
fast = [{"stepTime": 1, "pauseTime": 1}]
docs = {
    # Issue 10's document: two identical motor patterns in each of 32 phases (576 M events).
    "overlapping-motors": [[motor(3_000_000, fast), motor(3_000_000, fast)] for _ in range(32)],
    # Valid for both checks: a motor pattern, then Motor Direction once it is over. The old
    # check walked every event of such a phase (18 M each, 576 M in all).
    "pattern-then-direction": [[motor(3_000_000, fast),
                                {"compId": "Motor Direction", "start": 6_000_001, "duration": 10}]
                               for _ in range(32)],
}
for name, phases in docs.items():
    json.dump({"phases": [{"components": c} for c in phases]}, open(f"{out}/{name}.json", "w"))
# The largest document the protocol takes (256 KB) at every capacity: 32 phases of 16
# components (8 reversing patterns of 16 steps, 4,096 steps in all, one after another, each
# followed by a plain Motor and a Motor Direction component) and 8 KB of strings.
phases = []
for p in range(32):
    comps, t = [], 0
    for k in range(8):
        steps = [{"stepTime": 5, "pauseTime": 3, "direction": "cw" if i % 2 else "ccw"} for i in range(16)]
        comps.append(dict(motor(2, steps, t), id=f"m{k:02}"))
        t += 2 * 16 * 8
        comps.append({"id": f"d{k:02}", "compId": "Motor Direction", "start": t + 5, "duration": 10})
        comps.append({"id": f"o{k:02}", "compId": "Motor", "start": t + 20, "duration": 10})
        t += 40
    phases.append({"id": "p%02d" % p + "x" * 60, "name": "n" * 64, "color": "c" * 64,
                   "components": comps[:16]})
doc = json.dumps({"phases": phases}, separators=(",", ":"))
assert len(doc) <= 256 * 1024, len(doc)
open(f"{out}/largest.json", "w").write(doc)
# Refused documents of the accepted size whose reading could be slow: a 250,000-digit number,
# 120,000 levels of nesting, 24,000 unknown keys (each one a warning).
open(f"{out}/long-number.json", "w").write('{"phases":[{"startTime":1' + "0" * 250000 + "}]}")
open(f"{out}/deep-nesting.json", "w").write('{"phases":[{"x":' + "[" * 120000 + "]" * 120000 + "}]}")
open(f"{out}/many-keys.json", "w").write(
    '{"phases":[{' + ",".join('"k%d":1' % i for i in range(24000)) + "}]}")
PY

cpu() { # best CPU time (user + sys, ms) of 5 runs of the command
    python3 - "$@" <<'PY'
import resource, subprocess, sys
best = None
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ms = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    best = ms if best is None else min(best, ms)
print(f"{best:.1f}")
PY
}

printf '%-24s %-10s %8s %12s %12s   %s\n' document board bytes "baseline ms" "now ms" "now says"
for doc in overlapping-motors pattern-then-direction largest long-number deep-nesting many-keys; do
    for board in board dead-time; do
        f=$WORK/$doc.json
        says=$("$NEW" check --board "$WORK/$board.toml" "$f" 2>&1 | head -1 | sed "s|^$f: ||" | cut -c1-50 || true)
        printf '%-24s %-10s %8s %12s %12s   %s\n' "$doc" "$board" "$(stat -c %s "$f")" \
            "$(cpu "$OLD" check --board "$WORK/$board.toml" "$f")" \
            "$(cpu "$NEW" check --board "$WORK/$board.toml" "$f")" "$says"
    done
done
