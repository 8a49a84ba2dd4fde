# bench/registry.sh — sourced by the benchmark scripts: a Debian docker-registry on a free loopback
# port with its storage under a work directory.
#
#   start_registry WORKDIR [LOGFILE]
# sets registry_host (127.0.0.1:PORT) and registry_pid; the caller's EXIT trap should kill
# $registry_pid. With LOGFILE, the text access log goes there (to count what was served).

start_registry() {
    local work="$1" log="${2:-/dev/null}" port
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    printf 'version: 0.1\nlog: {level: error, formatter: text}\nstorage: {filesystem: {rootdirectory: %s/registry-data}}\nhttp: {addr: 127.0.0.1:%s}\n' \
        "$work" "$port" > "$work/registry.yml"
    docker-registry serve "$work/registry.yml" >"$log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
    registry_host="127.0.0.1:$port"
}
