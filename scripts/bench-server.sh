#!/usr/bin/env bash
# Server-scale benchmark (issue 11 section 3): the embedded server before the store rewrite,
# after it (this tree), and the gromox peer, on the same generated data in one run. Prints a
# table of medians (min–max) and ratios and writes it to target/bench-server.txt. It asserts no
# time threshold: it is a benchmark, not a test. See docs/benchmarks.md.
#
# Builds what is missing, then runs `cargo bench -p oxmapi-cli --bench server_scale`:
#   * BEFORE: a release `oxmapi` built from commit $OXMAPI_BEFORE_REV, exported with
#     `git archive` (read-only; no checkout or worktree) into $OXMAPI_BEFORE_SRC and built with
#     --target-dir $OXMAPI_BEFORE_TARGET, unless $OXMAPI_BEFORE_BIN already exists;
#   * AFTER: this tree's release `oxmapi` (cargo bench builds it).
#
# Environment (all optional):
#   OXMAPI_BENCH_SIZES            message counts, comma-separated   (default 10000,100000)
#   OXMAPI_BEFORE_BIN             BEFORE binary       (default /tmp/before-target/release/oxmapi)
#   OXMAPI_BEFORE_REV             commit BEFORE is built from, if the binary is missing (53a9085)
#   OXMAPI_BEFORE_SRC             where that commit is exported     (default /tmp/before)
#   OXMAPI_BEFORE_TARGET          its cargo target dir              (default /tmp/before-target)
#   OXMAPI_AFTER_BIN              AFTER binary instead of this tree's release build
#   OXMAPI_BENCH_GROMOX=0         leave the gromox peer out (it needs root; it is reset, seeded,
#                                 and reset + started again at the end)
#   OXMAPI_SHARED_DIR             the shared dir with peers/gromox and tools/ (default ../shared)
#   OXMAPI_BENCH_SEED_LIMIT_SECS  longest import per server and size (default 600); BEFORE past it
#                                 ends the run at the sizes done; gromox is seeded beyond 10,000
#                                 only when its measured rate predicts less than this
#   OXMAPI_BENCH_SESSIONS         (c) concurrent session counts     (default 16,100)
#   OXMAPI_BENCH_WINDOW_SECS      (c) window length; 3 windows per phase (default 5)
#   OXMAPI_BENCH_PACE_MS          (c) pause between one session's requests (default 100)
#   OXMAPI_BENCH_BUDGET_MS        the servers' request_time_budget_ms (default 600000, so a slow
#                                 sort is timed rather than answered with RopBackoff; "default"
#                                 keeps the server's own 5000)
#   OXMAPI_BENCH_OUT              table file (default target/bench-server.txt)
#   OXMAPI_BENCH_KEEP=1           keep the work directory (data dirs, server logs)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

BEFORE_TARGET="${OXMAPI_BEFORE_TARGET:-/tmp/before-target}"
export OXMAPI_BEFORE_BIN="${OXMAPI_BEFORE_BIN:-$BEFORE_TARGET/release/oxmapi}"
if [ ! -x "$OXMAPI_BEFORE_BIN" ]; then
  REV="${OXMAPI_BEFORE_REV:-53a9085}"
  SRC="${OXMAPI_BEFORE_SRC:-/tmp/before}"
  echo "== building BEFORE ($REV) into $BEFORE_TARGET"
  if [ ! -f "$SRC/Cargo.toml" ]; then
    mkdir -p "$SRC"
    git -C "$ROOT" archive "$REV" | tar -x -C "$SRC"
  fi
  (cd "$SRC" && cargo build --release --locked -p oxmapi-cli --target-dir "$BEFORE_TARGET")
fi

if [ "${OXMAPI_BENCH_GROMOX:-1}" != 0 ] && [ "$(id -u)" != 0 ]; then
  echo "note: not root, so the gromox peer is left out (OXMAPI_BENCH_GROMOX=0)"
  export OXMAPI_BENCH_GROMOX=0
fi
command -v python3 >/dev/null || { echo "python3 is required (the MAPI/HTTP probe)"; exit 1; }

echo "== building AFTER and running the benchmark"
exec cargo bench --locked -p oxmapi-cli --bench server_scale
