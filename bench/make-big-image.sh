#!/usr/bin/env bash
# make-big-image.sh OUTDIR — build strata's "big" benchmark image.
#
# Produces, in OUTDIR (default: $BENCH_CACHE/out):
#   big.docker.tar   `docker save` of strata-bench/big:latest (docker-archive)
#   big-oci/         OCI image layout (gzip layers), tag "latest", made by skopeo
#
# The image is a realistic "Python app with a fat .venv":
#   layer 1     Debian bookworm minbase rootfs (debootstrap, python3 + venv),
#               imported as strata-bench/base:latest
#   COPY        /app/.venv with real PyPI wheels (numpy, pandas, scipy, pyarrow,
#               scikit-learn, matplotlib, polars, ...) — the 500 MB+ layer
#   COPY        /app/src, a tiny application package
#   RUN ...     a build cache that a later RUN deletes (dead bytes + whiteouts),
#               a system user (rewrites /etc/passwd etc. from the base layer)
#
# Idempotent: every step skips itself when its output already exists. Work
# files are cached under ${BENCH_CACHE:-/var/tmp/strata-bench}:
#   debs/        .deb cache for debootstrap
#   rootfs.tar   the debootstrapped rootfs
#   wheels/      wheels downloaded from PyPI on the host
#   context/     docker build context (Dockerfile, app/.venv, app/src)
# Delete a cached item (or `docker rmi` an image) to redo that step. The final
# image and the outputs also carry a hash of the recipe (pins, app sources,
# Dockerfile): editing any of them in this script rebuilds them.
# Not pinned: the Debian packages (whatever the mirror serves for bookworm).
#
# Network: only the Debian mirror configured in /etc/apt/sources.list* (for
# debootstrap) and PyPI (for `pip download`, on the host) are used. The venv is
# installed inside a container with --network none from the downloaded wheels.
#
# Host tools needed (all Debian packages): docker.io, debootstrap, skopeo,
# python3 + pip (any python >= 3.8 on the host; wheels target CPython 3.11).
# Extra Debian packages beyond those the machine ships with: none.
set -euo pipefail

BENCH_CACHE="${BENCH_CACHE:-/var/tmp/strata-bench}"
OUTDIR="${1:-$BENCH_CACHE/out}"
BASE_IMAGE="strata-bench/base:latest"
BIG_IMAGE="strata-bench/big:latest"
SUITE="bookworm"
# Docker CLI >= 23 needs buildx for BuildKit; this machine has none, and the
# classic builder gives one layer per COPY/RUN, which is what we want anyway.
export DOCKER_BUILDKIT=0

log() { printf '[make-big-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[make-big-image] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in docker debootstrap skopeo python3 tar; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found in PATH"
done
# The host python downloads the wheels.
python3 -m pip --version >/dev/null 2>&1 || die "python3 -m pip is not available on the host"

mkdir -p "$BENCH_CACHE" "$OUTDIR"
BENCH_CACHE="$(cd "$BENCH_CACHE" && pwd)"
OUTDIR="$(cd "$OUTDIR" && pwd)"
START_SECONDS=$SECONDS

# The Python packages of the app's venv. Top level: numpy, pandas, scipy,
# pyarrow, scikit-learn, matplotlib, sqlalchemy, polars, duckdb, numba, sympy,
# boto3, opencv-python-headless; the rest are their dependencies. Everything is
# pinned so every machine builds the same venv.
REQUIREMENTS="$(cat <<'REQ'
boto3==1.38.23
botocore==1.38.46
cloudpickle==3.1.2
contourpy==1.3.3
cycler==0.12.1
duckdb==1.3.0
fonttools==4.68.0
greenlet==3.5.6
jmespath==1.1.0
joblib==1.6.0
kiwisolver==1.5.1
llvmlite==0.44.0
matplotlib==3.10.3
mpmath==1.3.0
numba==0.61.2
numpy==2.2.6
opencv-python-headless==4.11.0.86
packaging==26.3
pandas==2.2.3
pillow==13.0.0
polars==1.30.0
pyarrow==20.0.0
pyparsing==3.3.3
python-dateutil==2.9.0.post0
pytz==2026.6
s3transfer==0.13.1
scikit-learn==1.6.1
scipy==1.15.3
six==1.17.0
sqlalchemy==2.0.41
sympy==1.14.0
threadpoolctl==3.8.0
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
REQ
)"
REQ_HASH="$(printf '%s\n' "$REQUIREMENTS" | sha256sum | cut -c1-16)"

# The app's sources, written into the build context at /app/src.
APP_INIT_PY='"""Tiny demo app for strata'"'"'s benchmark image."""
__version__ = "0.1.0"'
APP_MAIN_PY="$(cat <<'PY'
"""Summarise a random table with pandas and exit."""
import numpy as np
import pandas as pd


def main() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(1000, 4)), columns=list("abcd"))
    print(frame.describe().round(3).to_string())


if __name__ == "__main__":
    main()
PY
)"
APP_PYPROJECT="$(cat <<'TOML'
[project]
name = "strata-demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["numpy", "pandas"]
TOML
)"

# The app image. The base layer already carries ~50 MB of apt lists that
# debootstrap left behind (a classic leftover).
DOCKERFILE="$(cat <<'DOCKER'
FROM strata-bench/base:latest
ENV PATH=/app/.venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/app/src
# The fat layer: a ready-made virtualenv.
COPY app/.venv /app/.venv
COPY app/src /app/src
# A "build step" that leaves a cache behind: 64 MiB of incompressible bytes
# (seeded, so every build makes the same bytes) and a copy of /usr/share/doc.
RUN mkdir -p /tmp/build-cache \
 && python3 -c "import random; random.seed(42); open('/tmp/build-cache/wheels.bin', 'wb').write(random.randbytes(64 << 20))" \
 && cp -a /usr/share/doc /tmp/build-cache/doc \
 && python3 -m compileall -q /app/src
# A system user: rewrites /etc/passwd, /etc/group, /etc/shadow of the base layer.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app
# Clean-up in a later layer: the bytes above stay in the image (whiteouts).
RUN rm -rf /tmp/build-cache
WORKDIR /app
USER app
CMD ["python", "-m", "strata_demo"]
DOCKER
)"

# One hash over everything that defines the final image: a change rebuilds
# the image and the outputs instead of reusing stale ones.
RECIPE_HASH="$(printf '%s\n' "$SUITE" "$REQUIREMENTS" "$APP_INIT_PY" "$APP_MAIN_PY" \
    "$APP_PYPROJECT" "$DOCKERFILE" | sha256sum | cut -c1-16)"
RECIPE_LABEL="strata.bench.recipe"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------------------
# Find the Debian mirror this machine's apt uses (the first source that serves
# the plain $SUITE suite), from one-line *.list and deb822 *.sources files.
# BENCH_DEBIAN_MIRROR overrides it.
# ---------------------------------------------------------------------------
find_debian_mirror() {
    if [ -n "${BENCH_DEBIAN_MIRROR:-}" ]; then
        printf '%s\n' "$BENCH_DEBIAN_MIRROR"
        return
    fi
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ "${#files[@]}" -gt 0 ] || die "no apt sources found; set BENCH_DEBIAN_MIRROR"
    local mirror
    mirror="$(awk -v suite="$SUITE" '
        # Print the first URI of an enabled "deb" source whose suites include
        # $suite. Works with mawk and gawk.
        function flush() {
            if (!done && !disabled && types ~ /(^|[[:space:]])deb([[:space:]]|$)/ \
                && index(suites, " " suite " ") && uris != "") {
                print uris; done = 1
            }
            types = ""; uris = ""; suites = ""; disabled = 0
        }
        FNR == 1 { flush(); deb822 = (FILENAME ~ /\.sources$/) }
        done { exit }
        deb822 {
            # deb822: "Key: value" stanzas separated by blank lines.
            if ($0 ~ /^[[:space:]]*$/) { flush(); next }
            if ($0 ~ /^[[:space:]]*#/) next
            key = tolower($1)
            if (key == "types:")  types = $0
            if (key == "uris:")   uris = $2
            if (key == "suites:") suites = " " $0 " "
            if (key == "enabled:" && tolower($2) == "no") disabled = 1
            next
        }
        $1 == "deb" {
            # one-line format: deb [options] URI suite components...
            i = 2
            if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) { print $i; done = 1; exit }
        }
        END { flush() }
' "${files[@]}")" || true
    [ -n "$mirror" ] || die "no '$SUITE' source in /etc/apt/sources.list*; set BENCH_DEBIAN_MIRROR"
    printf '%s\n' "$mirror"
}

# ---------------------------------------------------------------------------
# Step 1: debootstrap rootfs -> $BENCH_CACHE/rootfs.tar
# ---------------------------------------------------------------------------
ensure_rootfs_tar() {
    local tarball="$BENCH_CACHE/rootfs.tar"
    if [ -f "$tarball" ]; then
        log "rootfs: cached $tarball"
        return
    fi
    local mirror root
    mirror="$(find_debian_mirror)"
    root="$BENCH_CACHE/rootfs.tmp"
    log "rootfs: debootstrap $SUITE from $mirror (a few minutes)"
    rm -rf "$root"
    mkdir -p "$root" "$BENCH_CACHE/debs"
    debootstrap --variant=minbase --include=python3,python3-venv \
        --cache-dir="$BENCH_CACHE/debs" \
        "$SUITE" "$root" "$mirror" >"$BENCH_CACHE/debootstrap.log" 2>&1 \
        || die "debootstrap failed; see $BENCH_CACHE/debootstrap.log"
    # Leave out what a container runtime provides itself (device nodes,
    # proc/sys mounts) and the downloaded .debs; keep the apt lists, like a
    # base image that forgot to clean them.
    log "rootfs: packing $tarball"
    tar --numeric-owner --sort=name --xattrs -C "$root" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        --exclude='./var/cache/apt/archives/*.deb' \
        -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
}

# ---------------------------------------------------------------------------
# Step 2: docker import -> strata-bench/base:latest
# ---------------------------------------------------------------------------
ensure_base_image() {
    if image_exists "$BASE_IMAGE"; then
        log "base: image $BASE_IMAGE exists"
        return
    fi
    ensure_rootfs_tar
    log "base: docker import -> $BASE_IMAGE"
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/bash"]' \
        "$BENCH_CACHE/rootfs.tar" "$BASE_IMAGE" >/dev/null
}

# ---------------------------------------------------------------------------
# Step 3: download manylinux wheels for CPython 3.11 / x86_64 on the host.
# ---------------------------------------------------------------------------
ensure_wheels() {
    local dir="$BENCH_CACHE/wheels"
    if [ -f "$dir/.done-$REQ_HASH" ]; then
        log "wheels: cached in $dir"
        return
    fi
    log "wheels: pip download into $dir"
    mkdir -p "$dir"
    printf '%s\n' "$REQUIREMENTS" >"$dir/requirements.txt"
    # bookworm has glibc 2.36, so any manylinux tag up to 2_36 runs there.
    local platforms=() v
    for v in $(seq 17 36); do platforms+=(--platform "manylinux_2_${v}_x86_64"); done
    platforms+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
    # PIP_FIND_LINKS may point to a local wheelhouse on dev machines; ignore it
    # so the cache holds exactly what PyPI serves.
    env -u PIP_FIND_LINKS python3 -m pip download --quiet \
        --only-binary=:all: "${platforms[@]}" \
        --python-version 3.11 --implementation cp --abi cp311 \
        --dest "$dir" -r "$dir/requirements.txt" \
        || die "pip download failed"
    touch "$dir/.done-$REQ_HASH"
}

# ---------------------------------------------------------------------------
# Step 4: build /app/.venv inside the base image (so its interpreter paths are
# the image's), offline from the wheel cache, into the build context.
# ---------------------------------------------------------------------------
ensure_venv() {
    local app="$BENCH_CACHE/context/app"
    if [ -f "$BENCH_CACHE/context/.venv-done-$REQ_HASH" ]; then
        log "venv: cached in $app/.venv"
        return
    fi
    ensure_wheels
    ensure_base_image
    log "venv: python3 -m venv /app/.venv + pip install (offline, in a container)"
    rm -rf "$app/.venv"
    mkdir -p "$app"
    docker run --rm --network none \
        -v "$app:/app" -v "$BENCH_CACHE/wheels:/wheels:ro" \
        "$BASE_IMAGE" sh -euc '
            python3 -m venv /app/.venv
            /app/.venv/bin/pip install --quiet --no-index --find-links /wheels \
                --disable-pip-version-check -r /wheels/requirements.txt
            /app/.venv/bin/python -c "import numpy, pandas, scipy, pyarrow, sklearn, matplotlib, polars; print(\"venv ok: numpy\", numpy.__version__, \"pandas\", pandas.__version__)"
        ' || die "building the venv failed"
    touch "$BENCH_CACHE/context/.venv-done-$REQ_HASH"
}

# ---------------------------------------------------------------------------
# Step 5: the tiny app source and the Dockerfile (contents defined at the top).
# ---------------------------------------------------------------------------
# Write a file only when its content differs, so mtimes stay put between runs.
write_if_changed() {
    if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
        printf '%s\n' "$2" >"$1"
    fi
}

write_context() {
    local ctx="$BENCH_CACHE/context"
    mkdir -p "$ctx/app/src/strata_demo"
    write_if_changed "$ctx/app/src/strata_demo/__init__.py" "$APP_INIT_PY"
    write_if_changed "$ctx/app/src/strata_demo/__main__.py" "$APP_MAIN_PY"
    write_if_changed "$ctx/app/src/pyproject.toml" "$APP_PYPROJECT"
    write_if_changed "$ctx/Dockerfile" "$DOCKERFILE"
}

# ---------------------------------------------------------------------------
# Step 6: docker build -> strata-bench/big:latest
# ---------------------------------------------------------------------------
ensure_big_image() {
    local have
    have="$(docker image inspect -f "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$BIG_IMAGE" 2>/dev/null || true)"
    if [ "$have" = "$RECIPE_HASH" ]; then
        log "big: image $BIG_IMAGE exists (recipe $RECIPE_HASH)"
        return
    fi
    local old_id
    old_id="$(docker image inspect -f '{{.Id}}' "$BIG_IMAGE" 2>/dev/null || true)"
    ensure_base_image
    ensure_venv
    write_context
    log "big: docker build -> $BIG_IMAGE"
    docker build --network none --label "$RECIPE_LABEL=$RECIPE_HASH" \
        -t "$BIG_IMAGE" "$BENCH_CACHE/context" \
        >"$BENCH_CACHE/docker-build.log" 2>&1 \
        || die "docker build failed; see $BENCH_CACHE/docker-build.log"
    log "big: smoke test (the venv works inside the image)"
    docker run --rm --network none "$BIG_IMAGE" >/dev/null \
        || die "the built image does not run its app"
    # Drop the image this build replaced (only that one, and only if unused).
    if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{.Id}}' "$BIG_IMAGE")" ]; then
        docker rmi "$old_id" >/dev/null 2>&1 || true
    fi
}

# ---------------------------------------------------------------------------
# Step 7: outputs. OUTDIR/.recipe names the recipe they were made from; any
# other recipe (or none) means they are stale and are made again.
# ---------------------------------------------------------------------------
if [ "$(cat "$OUTDIR/.recipe" 2>/dev/null || true)" != "$RECIPE_HASH" ]; then
    rm -rf "$OUTDIR/.recipe" "$OUTDIR/big.docker.tar" "$OUTDIR/big-oci"
fi

if [ -f "$OUTDIR/big.docker.tar" ]; then
    log "out: $OUTDIR/big.docker.tar exists"
else
    ensure_big_image
    log "out: docker save -> $OUTDIR/big.docker.tar"
    rm -f "$OUTDIR/big.docker.tar.tmp"
    docker save -o "$OUTDIR/big.docker.tar.tmp" "$BIG_IMAGE"
    chmod 0644 "$OUTDIR/big.docker.tar.tmp"
    mv "$OUTDIR/big.docker.tar.tmp" "$OUTDIR/big.docker.tar"
fi

if [ -f "$OUTDIR/big-oci/index.json" ]; then
    log "out: $OUTDIR/big-oci exists"
else
    log "out: skopeo copy -> $OUTDIR/big-oci (gzip layers)"
    rm -rf "$OUTDIR/big-oci.tmp"
    skopeo copy --quiet --dest-compress --dest-compress-format gzip \
        "docker-archive:$OUTDIR/big.docker.tar" "oci:$OUTDIR/big-oci.tmp:latest"
    mv "$OUTDIR/big-oci.tmp" "$OUTDIR/big-oci"
fi
printf '%s\n' "$RECIPE_HASH" >"$OUTDIR/.recipe"

# ---------------------------------------------------------------------------
# Summary: walk the OCI layout's layers (read-only) and print sizes and counts.
# ---------------------------------------------------------------------------
log "summary: reading every layer of $OUTDIR/big-oci"
python3 - "$OUTDIR/big-oci" <<'PYEOF'
import gzip, json, os, sys, tarfile

layout = sys.argv[1]

def blob(digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(layout, "blobs", algo, hexd)

class Counting:
    """File wrapper that counts the bytes read through it."""
    def __init__(self, f):
        self.f, self.n = f, 0
    def read(self, size=-1):
        data = self.f.read(size)
        self.n += len(data)
        return data

index = json.load(open(os.path.join(layout, "index.json")))
desc = next((m for m in index["manifests"]
             if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest"),
            index["manifests"][0])
manifest = json.load(open(blob(desc["digest"])))

fs = {}          # merged filesystem: path -> (is_regular_file, size)
rows = []
tot_c = tot_u = tot_entries = 0
for i, layer in enumerate(manifest["layers"], 1):
    path = blob(layer["digest"])
    mt = layer["mediaType"]
    raw = open(path, "rb")
    stream = Counting(gzip.GzipFile(fileobj=raw) if "gzip" in mt else raw)
    entries = files = 0
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for m in tar:
            entries += 1
            name = m.name[2:] if m.name.startswith("./") else m.name
            name = name.lstrip("/").rstrip("/")
            if not name:
                continue
            d, base = os.path.split(name)
            if base == ".wh..wh..opq":          # opaque dir: drop lower contents
                pre = d + "/"
                for k in [k for k in fs if k.startswith(pre)]:
                    del fs[k]
                continue
            if base.startswith(".wh."):         # whiteout: delete path (+ subtree)
                gone = os.path.join(d, base[4:])
                pre = gone + "/"
                for k in [k for k in fs if k == gone or k.startswith(pre)]:
                    del fs[k]
                continue
            if m.isfile():
                files += 1
            fs[name] = (m.isfile(), m.size if m.isfile() else 0)
    while stream.read(1 << 20):               # count trailing tar padding too
        pass
    csize = os.path.getsize(path)
    rows.append((i, layer["digest"][7:19], csize, stream.n, entries, files))
    tot_c += csize; tot_u += stream.n; tot_entries += entries

mib = lambda n: n / (1 << 20)
print()
print(f"{'layer':>5} {'digest':<12} {'compressed':>14} {'uncompressed':>14} {'entries':>8} {'files':>7}")
for i, dg, c, u, e, f in rows:
    print(f"{i:>5} {dg:<12} {mib(c):>10.1f} MiB {mib(u):>10.1f} MiB {e:>8} {f:>7}")
final_files = sum(1 for isf, _ in fs.values() if isf)
final_bytes = sum(s for _, s in fs.values())
print()
print(f"layers:                 {len(rows)}")
print(f"compressed total:       {tot_c} bytes ({mib(tot_c):.1f} MiB, gzip)")
print(f"uncompressed total:     {tot_u} bytes ({mib(tot_u):.1f} MiB, sum of layer tars)")
print(f"tar entries (all):      {tot_entries}")
print(f"files in final rootfs:  {final_files} regular files, {final_bytes} bytes ({mib(final_bytes):.1f} MiB)")
PYEOF

log "done in $((SECONDS - START_SECONDS)) s: $OUTDIR/big.docker.tar, $OUTDIR/big-oci"
