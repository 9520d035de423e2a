#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
# Installs what it needs from the project's own files; talks only to loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
rustc --version
cargo --version
# python3 runs the independent MAPI/HTTP probe (a cargo test), impacket and the gromox checks.
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "installing python3 (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
python3 --version

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt
if grep -q "test result: FAILED" target/test-output.txt; then exit 1; fi

step "cargo test -p oxmapi over RPC/HTTP (every session suite again, OXMAPI_TEST_TRANSPORT=rpchttp)"
OXMAPI_TEST_TRANSPORT=rpchttp cargo test -p oxmapi --locked --no-fail-fast 2>&1 | tee -a target/test-output.txt
if grep -q "test result: FAILED" target/test-output.txt; then exit 1; fi

step "real peer: impacket (PyPI, pinned) over RPC/HTTP against oxmapi serve"
scripts/interop-impacket.sh 2>&1 | tee target/interop-impacket.txt
if ! grep -q "all impacket NSPI checks passed" target/interop-impacket.txt; then exit 1; fi
printf 'test result: ok. %s passed; 0 failed\n' "$(grep -c '^ok ' target/interop-impacket.txt)" >> target/test-output.txt

step "real server: gromox 3.10 (../shared/peers/gromox), our CLI over MAPI/HTTP and RPC/HTTP"
scripts/interop-gromox.sh 2>&1 | tee target/interop-gromox.txt
grep -E "^gromox: [0-9]+ passed, 0 failed" target/interop-gromox.txt >/dev/null
printf 'test result: ok. %s passed; 0 failed\n' "$(grep -c '^ok ' target/interop-gromox.txt)" >> target/test-output.txt

step "real dissector: tshark decodes our RPC/HTTP (RTS, DCE/RPC) and MAPI/HTTP captures"
if [ "$(id -u)" = 0 ] || command -v tshark >/dev/null; then
  scripts/interop-tshark.sh 2>&1 | tee target/interop-tshark.txt
  grep -E "^tshark: [0-9]+ passed, 0 failed" target/interop-tshark.txt >/dev/null
else
  echo "not root and no tshark: capture check skipped (see docs/captures.md)"
fi

if [ -x scripts/fuzz-smoke.sh ]; then
  step "fuzz smoke (bounded)"
  scripts/fuzz-smoke.sh
fi

step "summary"
passed=$(grep -Eo '[0-9]+ passed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
echo "${passed} passed, ${failed} failed"
