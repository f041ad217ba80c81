#!/usr/bin/env bash
# Run the venues' official Python SDKs, unchanged, against orion-sim.
#
#   scripts/sdk-interop.sh            # from the workspace root
#
# Creates a virtualenv (target/sdk-venv, or $SDK_VENV), installs
# kalshi_python_sync 3.34.0 and py-clob-client-v2 1.2.1 from PyPI, starts the
# orion-sim binary on the bundled test scenario, runs
# crates/orion-sim/tests/sdk/*.py and stops the simulator again.
#
# kalshi_python_sync releases after 3.2.0 declare Python >= 3.13 but run on
# 3.11; they are installed with --no-deps --ignore-requires-python and their
# dependencies added by hand (protocols/kalshi.md §15). cryptography is the
# SDK's RSA-PSS signer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${SDK_VENV:-$ROOT/target/sdk-venv}"
SDK_DIR="$ROOT/crates/orion-sim/tests/sdk"
FIXTURES="$ROOT/crates/orion-sim/tests/fixtures"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${PIP[@]}" --no-deps --ignore-requires-python kalshi_python_sync==3.34.0
"${PIP[@]}" urllib3 python-dateutil lazy_imports pydantic typing_extensions cryptography
"${PIP[@]}" py-clob-client-v2==1.2.1

cargo build --quiet --locked -p orion-sim --bin orion-sim
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/orion-sim"

READY="$(mktemp)"
"$BIN" --scenario "$FIXTURES/scenario.toml" >"$READY" &
SIM_PID=$!
cleanup() {
  kill "$SIM_PID" 2>/dev/null || true
  wait "$SIM_PID" 2>/dev/null || true
  rm -f "$READY"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  [ -s "$READY" ] && break
  kill -0 "$SIM_PID" 2>/dev/null || { echo "orion-sim exited early" >&2; exit 1; }
  sleep 0.1
done
[ -s "$READY" ] || { echo "orion-sim did not become ready" >&2; exit 1; }
echo "orion-sim ready: $(head -n1 "$READY")"

url() { "$VENV/bin/python" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$READY" "$1"; }
export ORION_SIM_KALSHI_REST="$(url kalshi_rest)"
export ORION_SIM_POLYMARKET_CLOB="$(url polymarket_clob)"
# Test identities from the bundled scenario (public throwaway keys).
export KALSHI_KEY_ID="a3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
export KALSHI_PRIVATE_KEY_FILE="$FIXTURES/kalshi_test_key_pkcs8.pem"
export POLY_PRIVATE_KEY="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
export POLY_TOKEN_ID="71321045679252212594626385532706912750332728571942532289631379312455583992563"

passed=0
failed=0
for script in kalshi_sdk.py polymarket_sdk.py; do
  echo "== $script"
  if "$VENV/bin/python" "$SDK_DIR/$script"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "sdk-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
