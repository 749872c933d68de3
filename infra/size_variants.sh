#!/usr/bin/env bash
# Builds the three Lambda binaries with each release-profile variant of the root Cargo.toml and
# measures what the choice trades: stripped arm64 size (as `sam build` makes them, with
# cargo-lambda and Zig), and on this machine's x86_64 the proxy's init and CPU per warm create
# (infra/coldstart.py against moto). Prints one markdown table row per profile.
#
#   infra/size_variants.sh [profile ...]     # default: size-o3-thin size-deps-s release size-z
#
# Needs the test venv (.venv: cargo-lambda, ziglang, moto) and the aarch64 Rust target. Every
# variant compiles all dependencies again: ≈ 8 min per profile on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
PROFILES=("$@")
[ ${#PROFILES[@]} -gt 0 ] || PROFILES=(size-o3-thin size-deps-s release size-z)
BINS=(proxy webhook-receiver worker)
OUT=target/size-variants
mkdir -p "$OUT"

echo "| profile | proxy arm64 | receiver arm64 | worker arm64 | proxy init (x86_64) | proxy CPU per warm create (x86_64) | replay CPU |"
echo "|---|---|---|---|---|---|---|"
for p in "${PROFILES[@]}"; do
  args=()
  for b in "${BINS[@]}"; do args+=(--bin "$b"); done
  if [ "$p" = release ]; then
    cargo lambda build --release --arm64 "${args[@]}" >"$OUT/$p-arm64.log" 2>&1
  else
    cargo lambda build --profile "$p" --arm64 "${args[@]}" >"$OUT/$p-arm64.log" 2>&1
  fi
  sizes=()  # cargo lambda leaves each binary at target/lambda/<bin>/bootstrap
  for b in "${BINS[@]}"; do
    sizes+=("$(python3 -c 'import os,sys; print(f"{os.path.getsize(sys.argv[1])/1e6:.2f} MB")' "target/lambda/$b/bootstrap")")
  done
  cargo build --profile "$p" -p proxy -p webhook-receiver -p worker >"$OUT/$p-x86.log" 2>&1
  .venv/bin/python infra/coldstart.py --only proxy --runs 5 --warm 300 --bin-dir "target/$p" \
    --json "$OUT/$p-coldstart.json" >"$OUT/$p-coldstart.log" 2>&1
  python3 - "$p" "$OUT/$p-coldstart.json" "${sizes[@]}" <<'EOF'
import json, sys
p, path, *sizes = sys.argv[1:]
r = json.load(open(path))["proxy"]
w = r["warm"]
print(f"| `{p}` | {' | '.join(sizes)} | {r['init_ms_median']:.1f} ms | "
      f"{w['create (fresh key)']['cpu_ms_schedstat']:.2f} ms | {w['replay (same key)']['cpu_ms_schedstat']:.2f} ms |")
EOF
done
