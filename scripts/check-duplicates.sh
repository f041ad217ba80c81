#!/usr/bin/env bash
# Fails when a heavy crate is compiled in more than one version: each copy costs
# build time on CI's two cores and binary size. Light duplicates are tolerated.
set -euo pipefail
heavy='tokio|hyper|hyper-util|h2|rustls|ring|axum|tower|tower-http|rusqlite|libsqlite3-sys|k256|alloy-primitives|alloy-sol-types|tungstenite|tokio-tungstenite|serde_json|regex|reqwest|metrics'
dups=$(cargo tree --workspace --locked -e normal,build -d --depth 0 --prefix none 2>/dev/null \
  | awk 'NF >= 2 {print $1, $2}' | sort -u | awk '{print $1}' | uniq -d | grep -xE "$heavy" || true)
if [ -n "$dups" ]; then
  echo "heavy crates compiled in more than one version:" >&2
  echo "$dups" >&2
  echo "(inspect with: cargo tree -d)" >&2
  exit 1
fi
echo "no heavy duplicate crates"
