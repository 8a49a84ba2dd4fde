#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds taken from the third-party fixtures in ../shared/fixtures/
# (a sibling of the checkout; override with FIXTURES=DIR). Seeds are named by their SHA-256, so running
# this again adds nothing twice. Corpora are git-ignored: never commit them.
#
#   layer_walk       layer blobs (plain, gzip, zstd, estargz) from the OCI layouts and the archives,
#                    plus the small archives themselves (a tar is a tar)
#   manifest         manifest, index and config JSON from the layouts and archives
#   docker_archive   whole archives of at most 100 KB
#   analyze_archive  the same archives
#   analyze_layers   none: its input is structured (arbitrary), the fuzzer starts from scratch
#
# The text targets are seeded from the project's own fixtures/ (Dockerfiles, lockfiles), the
# README's code blocks, ../shared/fixtures/dive/dive-ci.yaml, and the string literals of the
# parsers' unit tests and the integration tests that hold such documents (extracted with python3;
# without it those seeds are skipped):
#   reference        string literals of src/source/reference.rs, scheme.rs, mirrors.rs
#   dockerfile       fixtures/**/Dockerfile, *.Dockerfile, ```dockerfile blocks, src/dockerfile/ tests
#   uv_lock, pylock, poetry_lock, requirements
#                    fixtures/python/**, fixtures/seed/requirements*.txt, src/python/ tests
#   strata_toml      ```toml blocks, literals with [check], [lint] or [report]
#   dive_ci          dive's dive-ci.yaml, src/policy/dive_ci.rs literals
#   docker_config    literals with "auths", "credHelpers" or "credsStore"
#   cargo_recipe     literals with "skeleton"
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fixtures=${FIXTURES:-$here/../../shared/fixtures}
project=$here/..
corpus=$here/corpus
max_archive=$((100 * 1024))  # whole archives up to this size
max_layer=$((1024 * 1024))   # layer blobs up to this size (run.sh truncates inputs to -max_len anyway)

if [ ! -d "$fixtures" ]; then
    echo "seed.sh: no fixtures at $fixtures (set FIXTURES=DIR)" >&2
    exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

binary_targets=(layer_walk manifest docker_archive analyze_archive analyze_layers)
text_targets=(reference dockerfile uv_lock poetry_lock pylock requirements strata_toml dive_ci
    docker_config cargo_recipe)
for t in "${binary_targets[@]}" "${text_targets[@]}"; do
    mkdir -p "$corpus/$t"
done

# add TARGET FILE: copies FILE into the target's corpus under its content hash.
add() {
    local sum
    sum=$(sha256sum "$2" | cut -c1-40)
    cp -f "$2" "$corpus/$1/$sum"
    chmod u+w "$corpus/$1/$sum"
}

is_json() {
    # The first non-blank byte is { or [.
    local first
    first=$(head -c 256 "$1" | tr -d ' \t\r\n\000' | head -c1)
    [ "$first" = "{" ] || [ "$first" = "[" ]
}

# classify FILE: JSON goes to manifest, everything else that is not too big is a layer candidate.
classify() {
    local f=$1 size
    size=$(stat -c %s "$f")
    [ "$size" -gt 0 ] || return 0
    if is_json "$f"; then
        [ "$size" -le "$max_layer" ] && add manifest "$f"
    elif [ "$size" -le "$max_layer" ]; then
        add layer_walk "$f"
    fi
    return 0
}

# OCI layouts on disk: index.json and every blob.
while IFS= read -r -d '' f; do
    classify "$f"
done < <(find "$fixtures" -path '*/blobs/*' -type f -print0 -o -name index.json -type f -print0)

# Archives: the members (layers, manifest.json, configs, index.json, blobs), and small archives whole.
n=0
while IFS= read -r -d '' archive; do
    n=$((n + 1))
    dir=$scratch/$n
    mkdir -p "$dir"
    if tar -xf "$archive" -C "$dir" 2>/dev/null; then
        while IFS= read -r -d '' f; do
            classify "$f"
        done < <(find "$dir" -type f -print0)
    fi
    if [ "$(stat -c %s "$archive")" -le "$max_archive" ]; then
        add docker_archive "$archive"
        add analyze_archive "$archive"
        add layer_walk "$archive"
    fi
done < <(find "$fixtures" -name '*.tar' -type f -print0)

# Text targets: project fixtures by name.
while IFS= read -r -d '' f; do
    case $(basename "$f") in
        Dockerfile | *.Dockerfile) add dockerfile "$f" ;;
        uv.lock) add uv_lock "$f" ;;
        poetry.lock) add poetry_lock "$f" ;;
        pylock.toml | pylock.*.toml) add pylock "$f" ;;
        requirements*.txt) add requirements "$f" ;;
        strata.toml) add strata_toml "$f" ;;
        .dive-ci | dive-ci.yaml) add dive_ci "$f" ;;
        recipe.json) add cargo_recipe "$f" ;;
    esac
done < <(find "$project/fixtures" "$fixtures" -type f -size -1024k -print0)

# Text targets: README code blocks and string literals of the tests (one seed per literal).
if command -v python3 >/dev/null; then
    python3 - "$project" "$scratch/literals" <<'EOF'
import pathlib, re, sys

root, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
raw = re.compile(r'\br(#*)"(.*?)"\1', re.S)
plain = re.compile(r'(?<![#\w])"((?:[^"\\\n]|\\.)*)"')
escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def literals(path):
    text = path.read_text(errors="replace")
    for m in raw.finditer(text):
        yield m.group(2)
    for m in plain.finditer(raw.sub("", text)):
        yield re.sub(r"\\(.)", lambda e: escapes.get(e.group(1), e.group(0)), m.group(1))


def unformatted(lits):
    # format!() templates: the literal with `{{`/`}}` read as the braces they print.
    for lit in lits:
        yield lit
        if "{{" in lit or "}}" in lit:
            yield lit.replace("{{", "{").replace("}}", "}")


def sources(*globs):
    for g in globs:
        yield from sorted(root.glob(g))


# target: (files to mine, a literal is a seed when it contains one of these, or any when empty)
plan = {
    "reference": (sources("src/source/reference.rs", "src/source/scheme.rs",
                          "src/source/mirrors.rs"), ()),
    "dockerfile": (sources("src/dockerfile/*.rs", "tests/it/lint.rs", "tests/it/dockerfile_gen.rs"),
                   ("FROM", "RUN ", "COPY ")),
    "uv_lock": (sources("src/python/uv.rs", "tests/it/python_*.rs"), ("[[package]]",)),
    "poetry_lock": (sources("src/python/poetry.rs", "tests/it/python_*.rs"), ("[[package]]",)),
    "pylock": (sources("src/python/pylock.rs", "tests/it/python_*.rs"),
               ("[[packages]]", "lock-version")),
    "requirements": (sources("src/python/requirements.rs", "src/python/pep508.rs",
                             "tests/it/python_*.rs"), ("==", ">=", "-r ", "--hash")),
    "strata_toml": (sources("src/policy/*.rs", "src/dockerfile/lint.rs", "src/ops/*.rs",
                            "tests/it/*.rs"), ("[check]", "[lint]", "[report]")),
    "dive_ci": (sources("src/policy/dive_ci.rs", "tests/it/*.rs"),
                ("lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent")),
    "docker_config": (sources("src/source/**/*.rs", "src/analysis/secrets.rs", "tests/it/*.rs",
                              "tests/it/support/*.rs"), ('"auths"', "credHelpers", "credsStore")),
    "cargo_recipe": (sources("src/cargo/*.rs", "tests/it/cargo_*.rs"), ('"skeleton"',)),
}
for target, (files, needles) in plan.items():
    seen = set()
    for path in files:
        for lit in unformatted(literals(path)):
            if lit and (not needles or any(n in lit for n in needles)) and lit not in seen:
                seen.add(lit)
                d = out / target
                d.mkdir(parents=True, exist_ok=True)
                (d / f"{len(seen)}").write_text(lit)

# README code blocks by language.
readme = (root / "README.md").read_text()
for lang, target in (("dockerfile", "dockerfile"), ("toml", "strata_toml"), ("yaml", "dive_ci")):
    for i, block in enumerate(re.findall(r"^```" + lang + r"\n(.*?)^```", readme, re.S | re.M)):
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        (d / f"readme-{i}").write_text(block)
EOF
    for t in "${text_targets[@]}"; do
        if [ -d "$scratch/literals/$t" ]; then
            for f in "$scratch/literals/$t"/*; do add "$t" "$f"; done
        fi
    done
else
    echo "seed.sh: no python3: the text targets get only the fixture files" >&2
fi

for t in "${binary_targets[@]}" "${text_targets[@]}"; do
    printf '%-16s %4d seeds, %8d bytes\n' "$t" "$(find "$corpus/$t" -type f | wc -l)" \
        "$(find "$corpus/$t" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')"
done
