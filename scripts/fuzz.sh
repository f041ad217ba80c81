#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), starting from the
# committed seeds. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); runs
# on the stable toolchain with `--sanitizer none` (Rust's own checks still
# catch panics, overflows in debug assertions, and out-of-bounds accesses).
# A crash leaves its input under fuzz/artifacts/TARGET/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -s none
for target in "${targets[@]}"; do
  corpus="corpus/$target"
  mkdir -p "$corpus"
  cp -n seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  echo "==> fuzzing $target for ${seconds}s"
  cargo fuzz run -s none "$target" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 2>&1 \
    | grep -E '^(#[0-9]+ +(DONE|INITED)|==[0-9]+==|Done |SUMMARY|.*panicked)' || true
  if [ -n "$(ls -A "artifacts/$target" 2>/dev/null)" ]; then
    echo "fuzz target $target crashed; inputs in fuzz/artifacts/$target" >&2
    exit 1
  fi
done
