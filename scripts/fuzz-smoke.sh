#!/usr/bin/env bash
# Short, bounded run of every cargo-fuzz target (stable toolchain: `-s none`, no sanitizer).
# FUZZ_SECONDS per target (default 15). Installs cargo-fuzz from crates.io when missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECONDS:-15}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
targets=$(cargo fuzz list)
cargo fuzz build -s none $targets >/dev/null 2>&1 || cargo fuzz build -s none
for t in $targets; do
  mkdir -p "corpus/$t"
  # Run on a scratch copy so CI does not grow the committed corpus.
  scratch=$(mktemp -d)
  cp -r "corpus/$t/." "$scratch/" 2>/dev/null || true
  echo "fuzz $t for ${secs}s"
  cargo fuzz run -s none "$t" "$scratch" -- -max_total_time="$secs" -print_final_stats=1 2>&1 | grep -E "^(stat::number_of_executed_units|Done|==|thread)" || true
  if ls artifacts/"$t"/crash-* >/dev/null 2>&1; then
    echo "fuzz target $t found a crash: see fuzz/artifacts/$t"; exit 1
  fi
  rm -rf "$scratch"
done
