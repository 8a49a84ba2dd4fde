#!/usr/bin/env bash
# strata recipe vs cargo chef prepare (issue 4):
#   1. the edit matrix: for each common edit, does the recipe change? (strata beside cargo-chef)
#   2. prepare wall time on a real multi-crate workspace (hyperfine)
#   3. cook + build after a code-only change, and whether the binary is the real one
#
# Usage: bench/chef-edit-matrix.sh [WORKSPACE]
#   WORKSPACE: a multi-crate Cargo workspace with a Cargo.lock for the timings (section 2);
#   default: a generated 12-member workspace. We used ripgrep (11 packages) at 3fce3b5b.
# Needs: cargo, hyperfine, crates.io (cargo-chef is installed with `cargo install --locked
# cargo-chef` when missing; the generated workspaces depend on itoa, ryu and hex).
set -euo pipefail
cd "$(dirname "$0")/.."
timing_ws=${1:-}

cargo build --release --quiet
STRATA=$PWD/target/release/strata
command -v cargo-chef >/dev/null || cargo install --locked cargo-chef
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The matrix workspace: `app` (bin, depends on local `core`, itoa, ryu), `core` (lib), `tool`
# (an unrelated bin).
base=$work/base
mkdir -p "$base"/{app/src,core/src,tool/src}
cat > "$base/Cargo.toml" <<'EOF'
[workspace]
members = ["app", "core", "tool"]
resolver = "2"

[workspace.package]
edition = "2021"
EOF
cat > "$base/app/Cargo.toml" <<'EOF'
[package]
name = "app"
version = "0.1.0"
edition.workspace = true
description = "the app"

[dependencies]
core = { path = "../core", version = "0.1.0", package = "matrix-core" }
itoa = "1"
ryu = "1"
EOF
cat > "$base/core/Cargo.toml" <<'EOF'
[package]
name = "matrix-core"
version = "0.1.0"
edition.workspace = true

[dependencies]
itoa = "1"
EOF
cat > "$base/tool/Cargo.toml" <<'EOF'
[package]
name = "tool"
version = "0.1.0"
edition.workspace = true

[dependencies]
itoa = "1"
EOF
echo 'fn main() { println!("real {}", core::answer()); }' > "$base/app/src/main.rs"
echo 'pub fn answer() -> u32 { 42 }' > "$base/core/src/lib.rs"
echo 'fn main() {}' > "$base/tool/src/main.rs"
echo '# matrix' > "$base/README.md"
(cd "$base" && cargo generate-lockfile -q && cargo update -q -p itoa --precise 1.0.14)

# Each edit, as a function run in the workspace directory.
edit_code() { echo 'fn main() { println!("real {}", core::answer() + 1); }' > app/src/main.rs; }
edit_version() {
  sed -i 's/^version = "0.1.0"/version = "0.2.0"/' core/Cargo.toml
  sed -i 's/version = "0.1.0", package/version = "0.2.0", package/' app/Cargo.toml
}
edit_metadata() {
  sed -i 's/^description = "the app"/description = "a better app"\nauthors = ["Ann <ann@example.com>"]\nkeywords = ["matrix"]/' app/Cargo.toml
}
edit_package_metadata() {
  printf '\n[package.metadata.deb]\nsection = "utils"\n' >> app/Cargo.toml
  sed -i 's/^description = "the app"/description = "the app"\ndefault-run = "app"/' app/Cargo.toml
}
edit_lints() { printf '\n[lints.rust]\nunsafe_code = "forbid"\n' >> app/Cargo.toml; }
edit_readme() { echo 'More words.' >> README.md; }
edit_unrelated() { printf 'hex = "0.4"\n' >> tool/Cargo.toml; }
edit_dependency() { printf 'hex = "0.4"\n' >> app/Cargo.toml; }
edit_lock() { cargo update -q -p itoa --precise 1.0.15; }
edit_feature() { sed -i 's/^ryu = "1"/ryu = { version = "1", features = ["small"] }/' app/Cargo.toml; }

# name | edit function | expected | extra prepare arguments
cases=(
  "code only|edit_code|unchanged|"
  "local version bump|edit_version|unchanged|"
  "authors/description/keywords|edit_metadata|unchanged|"
  "package.metadata, default-run|edit_package_metadata|unchanged|"
  "lints|edit_lints|unchanged|"
  "README|edit_readme|unchanged|"
  "unrelated member (prepare --bin app)|edit_unrelated|unchanged|--bin app"
  "dependency added|edit_dependency|changed|"
  "lock bump (itoa 1.0.14 → 1.0.15)|edit_lock|changed|"
  "feature added (ryu/small)|edit_feature|changed|"
)

strata_recipe() { "$STRATA" recipe --recipe-path "$1" ${2:+$2}; }
chef_recipe() { cargo chef prepare --recipe-path "$1" ${2:+$2} >/dev/null 2>&1; }

verdict() { # expected, before, after
  local got=unchanged
  cmp -s "$2" "$3" || got=changed
  if [ "$got" = "$1" ]; then echo "$got ✓"; else echo "**$got ✗**"; fi
}

echo "## Recipe edit matrix: strata vs cargo-chef $(cargo chef --version | awk '{print $2}')"
echo
echo "| Edit | Expected | strata | cargo-chef |"
echo "|---|---|---|---|"
strata_wrong=0
chef_wrong=0
for case in "${cases[@]}"; do
  IFS='|' read -r name edit expected args <<<"$case"
  d=$work/case
  rm -rf "$d"
  cp -r "$base" "$d"
  (
    cd "$d"
    strata_recipe "$work/s1.json" "$args"
    chef_recipe "$work/c1.json" "$args"
    $edit
    cargo update -q --workspace
    strata_recipe "$work/s2.json" "$args"
    chef_recipe "$work/c2.json" "$args"
  )
  s=$(verdict "$expected" "$work/s1.json" "$work/s2.json")
  c=$(verdict "$expected" "$work/c1.json" "$work/c2.json")
  [[ $s == *✗* ]] && strata_wrong=$((strata_wrong + 1))
  [[ $c == *✗* ]] && chef_wrong=$((chef_wrong + 1))
  echo "| $name | $expected | $s | $c |"
done
echo
echo "Wrong verdicts (spurious or missed invalidations): strata $strata_wrong, cargo-chef $chef_wrong."
echo

if [ -z "$timing_ws" ]; then
  timing_ws=$work/timing
  mkdir -p "$timing_ws"
  members=""
  for i in $(seq 1 12); do
    members="$members\"m$i\", "
    mkdir -p "$timing_ws/m$i/src"
    printf '[package]\nname = "m%s"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nitoa = "1"\nryu = "1"\n' "$i" > "$timing_ws/m$i/Cargo.toml"
    echo 'pub fn f() {}' > "$timing_ws/m$i/src/lib.rs"
  done
  printf '[workspace]\nmembers = [%s]\nresolver = "2"\n' "${members%, }" > "$timing_ws/Cargo.toml"
  (cd "$timing_ws" && cargo generate-lockfile -q)
fi
packages=$(cd "$timing_ws" && cargo metadata --no-deps --format-version 1 --offline | grep -o '"manifest_path"' | wc -l)
echo "## Prepare wall time ($packages packages, Cargo.lock present, warm caches)"
echo
(
  cd "$timing_ws"
  hyperfine --style none --warmup 3 --min-runs 20 -N \
    --export-markdown "$work/prepare.md" \
    -n "strata recipe" "$STRATA recipe --recipe-path $work/t1.json" \
    -n "cargo chef prepare" "cargo chef prepare --recipe-path $work/t2.json" >/dev/null
)
cat "$work/prepare.md"
echo

echo "## Cook + build after a code-only change (matrix workspace, debug, 3 runs each)"
echo
echo "| Tool | cook (s) | build after the change (s) | binary prints |"
echo "|---|---|---|---|"
now() { date +%s.%N; }
for tool in strata cargo-chef; do
  cook_total=0
  build_total=0
  out=""
  for _ in 1 2 3; do
    d=$work/cook-$tool
    rm -rf "$d" "$work/src-$tool"
    mkdir -p "$d"
    cp -r "$base" "$work/src-$tool"
    if [ "$tool" = strata ]; then
      (cd "$work/src-$tool" && strata_recipe "$d/recipe.json" "")
    else
      (cd "$work/src-$tool" && chef_recipe "$d/recipe.json" "")
    fi
    t0=$(now)
    if [ "$tool" = strata ]; then
      (cd "$d" && "$STRATA" cook --recipe-path recipe.json --offline 2>/dev/null)
    else
      (cd "$d" && cargo chef cook --recipe-path recipe.json --offline >/dev/null 2>&1)
    fi
    t1=$(now)
    (cd "$work/src-$tool" && edit_code && tar cf - --exclude=target .) | (cd "$d" && tar xf - -m)
    # Sources from a checkout or a timestamp-normalizing COPY carry old modification times.
    find "$d" -path "$d/target" -prune -o -type f -exec touch -d 2001-01-01 {} +
    (cd "$d" && cargo build -q --offline 2>/dev/null)
    t2=$(now)
    out=$("$d/target/debug/app" || true)
    cook_total=$(awk -v a="$cook_total" -v b="$t0" -v c="$t1" 'BEGIN { print a + c - b }')
    build_total=$(awk -v a="$build_total" -v b="$t1" -v c="$t2" 'BEGIN { print a + c - b }')
  done
  awk -v t="$tool" -v c="$cook_total" -v b="$build_total" -v o="$out" \
    'BEGIN { printf "| %s | %.2f | %.2f | `%s` |\n", t, c / 3, b / 3, o }'
done
