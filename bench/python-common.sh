# Sourced by bench/python-lock.sh and bench/python-qemu.sh (after `set -euo pipefail` and their
# own `die`): strata and the pinned uv located, the test-made arm64 base found, and the uv project
# both measure made and locked. Arguments: the caller's "$@" (STRATA first).
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRATA="${1:-$REPO/target/release/strata}"
DEBIAN="${DEBIAN_CACHE:-/var/tmp/strata-test-debian}"
UV_VERSION="$(sed -n 's/^pub const UV_VERSION: &str = "\(.*\)";/\1/p' "$REPO/src/ecosystem/python/dockerfile.rs")"
UV="${UV:-/var/tmp/strata-test-tools/uv-$UV_VERSION/bin/uv}"
RUNS="${RUNS:-3}"
[ -x "$STRATA" ] || die "strata binary not found at $STRATA"
[ -x "$UV" ] || die "uv $UV_VERSION not found at $UV (set UV=, or run the python_lock tests once)"
arm64="$(ls -d "$DEBIAN"/trixie-arm64-*/ 2>/dev/null | head -n1)"
arm64="${arm64%/}"
[ -n "$arm64" ] || die "no test-made arm64 Debian base under $DEBIAN (run the python_lock tests once)"
export SSL_CERT_FILE="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" UV_NATIVE_TLS=1

# make_project WORK: WORK/hello, a uv project locking numpy 2.2.6 (platform wheels) and requests
# 2.32.3 (pure, with its four dependencies), and WORK/requirements.txt, its lock exported.
make_project() {
    mkdir -p "$1/hello"
    printf '[project]\nname = "hello"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["numpy==2.2.6", "requests==2.32.3"]\n' \
        > "$1/hello/pyproject.toml"
    printf 'import numpy, requests\nprint(numpy.__version__, requests.__version__)\n' > "$1/hello/app.py"
    (cd "$1/hello" && UV_CACHE_DIR="$1/uv-warm" "$UV" lock --quiet)
    (cd "$1/hello" && "$UV" export --frozen --format requirements-txt --no-emit-project --no-dev \
        --no-header --quiet > "$1/requirements.txt")
}
