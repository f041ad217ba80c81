# Convenience recipes; every one is a plain cargo command underneath.

default: test

# Run the whole test suite.
test:
    cargo nextest run --workspace --locked

# Format check and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Supply-chain checks (needs cargo-deny).
deny:
    cargo deny check licenses bans sources
    bash scripts/check-duplicates.sh

# Fuzz every target for SECONDS each (needs cargo-fuzz; stable toolchain).
fuzz seconds="60":
    bash scripts/fuzz.sh {{seconds}}

# Criterion benchmarks.
bench:
    cargo bench --workspace

# Validate the example configuration.
check-config file="config/orion.example.toml":
    cargo run --locked -p orion-engine -- check-config --config {{file}}

# Everything CI does.
ci:
    bash .ci/run
