#!/usr/bin/env bash
# host.md tests 30, 31, 33, 34, 35, 36, 37 and 32: the real
# alga-agent under systemd-socket-activate, driven with curl --unix-socket,
# journals made by systemd-journal-remote from export text. The script
# re-runs itself in a new user, network and mount namespace, so nothing
# touches the host's network; test 32 bind-mounts a black-hole resolver there.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"

AGENT=${ALGA_AGENT_BIN:?}
BUNDLE=${ALGA_BUNDLE_BIN:-}
JREMOTE=/usr/lib/systemd/systemd-journal-remote
PY=${PYTHON3:-python3}

if [ -z "${ALGA_AGENT_IN_NS:-}" ]; then
	if unshare -rnm --propagation private true 2>/dev/null; then
		ALGA_AGENT_IN_NS=1 exec unshare -rnm --propagation private "$BASH" "$0" "$@"
	fi
	ALGA_AGENT_IN_NS=0
fi

command -v systemd-socket-activate >/dev/null || skip_all "systemd-socket-activate is absent"
command -v curl >/dev/null || skip_all "curl is absent"
[ -x "$JREMOTE" ] || skip_all "systemd-journal-remote is absent"

D=$(mktemp -d "${TMPDIR:-/tmp}/alga-agent-test.XXXXXX")
# shellcheck disable=SC2064
trap "rm -rf '$D'" EXIT
[ "$ALGA_AGENT_IN_NS" = 1 ] && ip link set lo up 2>/dev/null
[ "$ALGA_AGENT_IN_NS" = 1 ] || diag "no private namespaces: running on the host's network"

"$PY" "$ALGA_SOURCE_ROOT/tests/agent/make-journal.py" "$D/fixture.export"
mkdir -p "$D/journal"
"$JREMOTE" -o "$D/journal/fixture.journal" - <"$D/fixture.export" 2>/dev/null ||
	skip_all "systemd-journal-remote cannot write journal files"

S=$D/agent.sock
PID=

start_agent() {
	rm -f "$S"
	systemd-socket-activate -l "$S" "$AGENT" --journal-dir "$D/journal" --root "$D/root" "$@" \
		2>>"$D/agent.log" &
	PID=$!
	for _ in $(seq 100); do [ -S "$S" ] && return 0; sleep 0.05; done
	return 1
}

stop_agent() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

call() {
	curl --silent --show-error --max-time 30 --unix-socket "$S" "$@"
}

code() {
	curl --silent --output /dev/null --write-out '%{http_code}' --max-time 30 --unix-socket "$S" "$@"
}

mkdir -p "$D/root/etc" "$D/root/var/lib/alga/support-bundles" "$D/root/var/lib/alga/secrets"
# the session secret the journal fixture leaks unlabelled (make-journal.py)
echo "5e1f$(printf '0a%.0s' $(seq 30))" >"$D/root/var/lib/alga/secrets/session-secret"
echo "nameserver 192.0.2.53" >"$D/root/etc/resolv.conf"

start_agent --idle-timeout 30 || { fail "agent socket appears"; finish; exit 1; }

# 30
out=$(call http://localhost/v1/health)
check "30: /v1/health body is exact" test "$out" = '{"ok":true,"service":"alga-host-agent"}'
hdrs=$(curl -s -D - -o /dev/null --unix-socket "$S" http://localhost/v1/health | tr -d '\r')
check "30: JSON content type, Content-Length, Connection: close" \
	eval 'grep -qx "Content-Type: application/json; charset=utf-8" <<<"$hdrs" &&
	      grep -qx "Content-Length: 40" <<<"$hdrs" && grep -qx "Connection: close" <<<"$hdrs"'

# 31: upstream's exact call
curl --silent --show-error --max-time 30 --unix-socket "$S" -X POST \
	http://localhost/v1/support-bundle >"$D/bundle.json"
check "31: upstream's call exits 0" test $? -eq 0
check "31: the 10 paths, ISO ms generatedAt, password and known secret redacted" "$PY" - "$D/bundle.json" <<'PYEOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
paths = [f["path"] for f in d["files"]]
want = ["host/" + p + ".txt" for p in ["appliance-journal", "k3s-service-status",
	"appliance-bootstrap-status", "appliance-console-status", "disk-usage", "ip-addresses",
	"routes", "resolv-conf", "dns-lookup-ghcr", "https-ghcr"]]
assert d["ok"] is True and d["agent"] == "alga-host-agent", d.keys()
assert sorted(paths) == sorted(want), paths
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["generatedAt"]), d["generatedAt"]
for f in d["files"]:
	assert set(["path", "ok", "status", "content"]) <= set(f), f
	assert f["status"] in (0, 1, 124), f
raw = open(sys.argv[1]).read()
assert "hunter2" not in raw
assert "password=[REDACTED]" in d["files"][0]["content"]
assert "5e1f" + "0a" * 30 not in raw
assert "dump [REDACTED KNOWN]" in d["files"][0]["content"]
PYEOF

# 37: the journal file
check "37: last 1000 matching entries, oldest first, cut, binary" "$PY" - "$D/bundle.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
lines = d["files"][0]["content"].splitlines()
assert len(lines) == 1000, len(lines)
matching = [i for i in range(5000) if i % 3 != 2]
first = matching[-999]
assert lines[0].endswith("entry %d" % first), lines[0]
assert lines[0].startswith("2023-11-1"), lines[0]
assert lines[-1].endswith("k3s[7]: [binary 10 bytes]"), lines[-1]
assert "foreign" not in "".join(lines)
big = [l for l in lines if ": big " in l]
assert len(big) == 1 and "[cut at 8192 of 20484 bytes]" in big[0] and len(big[0]) < 8400, len(big[0])
nums = [int(l.rsplit(" ", 1)[1]) for l in lines if " entry " in l]
assert nums == sorted(nums), "not oldest first"
PYEOF

# 34
check "34: /nope 404 JSON" test "$(call http://localhost/nope)" = '{"ok":false,"error":"not found"}'
check "34: /v1/control-plane/upgrade 404" test "$(code -X POST http://localhost/v1/control-plane/upgrade)" = 404
h=$(curl -s -D - -o /dev/null --unix-socket "$S" http://localhost/v1/support-bundle | tr -d '\r')
check "34: GET /v1/support-bundle 405 + Allow: POST" \
	eval 'grep -q "^HTTP/1.1 405" <<<"$h" && grep -qx "Allow: POST" <<<"$h"'
check "34: /v1/health?x=1 200" test "$(code 'http://localhost/v1/health?x=1')" = 200
big=$(head -c 9216 /dev/zero | tr '\0' a)
check "34: 9 KiB header 431" test "$(code -H "X-Big: $big" http://localhost/v1/health)" = 431
head -c 5120 /dev/zero | tr '\0' a >"$D/5k"
check "34: 5 KiB body 413" test "$(code -X POST --data-binary @"$D/5k" http://localhost/v1/support-bundles)" = 413
check "34: 5 KiB chunked body 413" test "$(code -X POST -H 'Transfer-Encoding: chunked' \
	--data-binary @"$D/5k" http://localhost/v1/support-bundles)" = 413
out=$(call -X POST -d '{bad' http://localhost/v1/support-bundles)
check "34: {bad on /v1/support-bundles 400 invalid JSON body" \
	eval 'grep -q "^{\"ok\":false,\"error\":\"invalid JSON body: " <<<"$out"'
check "34: {bad on the compat route 200" test "$(code -X POST -d '{bad' http://localhost/v1/support-bundle)" = 200
check "34: 17th connection gets 503" "$PY" - "$S" <<'PYEOF'
import socket, sys
held = []
for _ in range(16):
	s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
import time; time.sleep(0.3)
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
data = s.recv(4096).decode()
assert data.startswith("HTTP/1.1 503"), data[:40]
PYEOF

# 35: the directory side
name=alga-appliance-support-20250101T000000Z.tar.gz
head -c 3000 /dev/urandom >"$D/root/var/lib/alga/support-bundles/$name"
want=$(sha256sum "$D/root/var/lib/alga/support-bundles/$name" | cut -d' ' -f1)
check "35: GET /v1/support-bundles/<name> is the file" \
	test "$(call "http://localhost/v1/support-bundles/$name" | sha256sum | cut -d' ' -f1)" = "$want"
check "35: the list has name and sha256" eval 'call http://localhost/v1/support-bundles | grep -q "\"sha256\":\"$want\""'
check "35: ../x 400" test "$(code --path-as-is 'http://localhost/v1/support-bundles/../x')" = 400
check "35: unknown 404" test "$(code http://localhost/v1/support-bundles/alga-appliance-support-20250101T000001Z.tar.gz)" = 404
check "35: DELETE 204" test "$(code -X DELETE "http://localhost/v1/support-bundles/$name")" = 204
check "35: gone after DELETE" test ! -e "$D/root/var/lib/alga/support-bundles/$name"
# 35: POST builds one through lib/bundle (no kubeconfig here: cluster/ holds the error)
out=$(call -X POST -d '{"cluster":false}' -w '\n%{http_code}' http://localhost/v1/support-bundles)
check "35: POST /v1/support-bundles 201" test "$(tail -n 1 <<<"$out")" = 201
out=$(head -n -1 <<<"$out")
built=$(sed -nE 's/.*"name":"([^"]+)".*/\1/p' <<<"$out")
bsha=$(sed -nE 's/.*"sha256":"([0-9a-f]{64})".*/\1/p' <<<"$out")
check "35: POST names a bundle and its sha256" test -n "$built" -a -n "$bsha"
check "35: the reply has ok, path, bytes, files, redactions, durationMs" \
	eval 'for k in ok path bytes files redactions durationMs; do grep -q "\"$k\":" <<<"$out" || exit 1; done'
check "35: GET the built bundle is its sha256" \
	test "$(call "http://localhost/v1/support-bundles/$built" | sha256sum | cut -d' ' -f1)" = "$bsha"
check "35: DELETE the built bundle 204" test "$(code -X DELETE "http://localhost/v1/support-bundles/$built")" = 204

# alga-bundle --via-agent: the agent builds the bundle, the CLI reports it
if [ -n "$BUNDLE" ]; then
	mkdir -p "$D/root/run/alga"
	ln -sf "$S" "$D/root/run/alga/agent.sock"
	out=$("$BUNDLE" --root "$D/root" --via-agent --no-cluster --journal-lines 50 --json 2>>"$D/bundle.err")
	rc=$?
	check "via-agent: exit 0 (rc $rc)" test $rc -eq 0
	vpath=$(sed -nE 's/.*"path":"([^"]+)".*/\1/p' <<<"$out")
	vsha=$(sed -nE 's/.*"sha256":"([0-9a-f]{64})".*/\1/p' <<<"$out")
	check "via-agent: --json names the agent's bundle under its directory" \
		eval 'test "$(dirname "$vpath")" = "$D/root/var/lib/alga/support-bundles" -a -f "$vpath"'
	check "via-agent: the reported sha256 is the file's" \
		test "$(sha256sum "$vpath" 2>/dev/null | cut -d' ' -f1)" = "$vsha"
	check "via-agent: --json has ok, bytes, files, failed, redactions" \
		eval 'for k in ok bytes files failed redactions; do grep -q "\"$k\":" <<<"$out" || exit 1; done'
	check "via-agent: built by alga-agent, as asked (no cluster/, 50 lines)" \
		eval 'tar -xzOf "$vpath" meta/summary.txt | grep -qx "generator=alga-agent.*" &&
		      ! tar -tzf "$vpath" | grep -q "^cluster/." &&
		      test "$(tar -xzOf "$vpath" host/appliance-journal.txt | wc -l)" -le 50'
	out=$("$BUNDLE" --root "$D/root" --via-agent -q 2>>"$D/bundle.err")
	check "via-agent: -q prints nothing" test $? -eq 0 -a -z "$out"
	"$BUNDLE" --root "$D/root" --via-agent -o "$D" 2>/dev/null
	check "via-agent: with -o is a usage error (2)" test $? -eq 2
	"$BUNDLE" --root "$D/nowhere" --via-agent 2>"$D/noagent.err"
	rc=$?
	check "via-agent: no agent socket fails and says so (rc $rc)" \
		eval 'test $rc -ne 0 && grep -q "agent.sock" "$D/noagent.err"'
	rm -f "$D"/root/var/lib/alga/support-bundles/*.tar.gz
else
	skip "via-agent: ALGA_BUNDLE_BIN is not set"
fi

# 33: five concurrent POSTs, one collection
: >"$D/agent.log.before"
before=$(grep -c "Collecting host diagnostics" "$D/agent.log")
# connected first, then the five requests sent back to back
"$PY" - "$S" "$D" <<'PYEOF'
import socket, sys
socks = []
for i in range(5):
	s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); socks.append(s)
for s in socks:
	s.sendall(b"POST /v1/support-bundle HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
for i, s in enumerate(socks):
	data = b""
	while True:
		b = s.recv(65536)
		if not b:
			break
		data += b
	open("%s/c%d.json" % (sys.argv[2], i + 1), "wb").write(data.split(b"\r\n\r\n", 1)[1])
PYEOF
after=$(grep -c "Collecting host diagnostics" "$D/agent.log")
check "33: 5 concurrent POSTs, one collection ($before -> $after)" test $((after - before)) -eq 1
gens=$(for i in 1 2 3 4 5; do "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["generatedAt"])' "$D/c$i.json"; done | sort -u | wc -l)
check "33: all five share one result" test "$gens" -eq 1
stop_agent

# 36
start_agent --idle-timeout 2
# systemd-socket-activate execs the agent at the first connection
call http://localhost/v1/health >/dev/null
t0=$(date +%s%N)
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
	rc=timeout
	stop_agent
else
	wait "$PID"
	rc=$?
fi
el=$((($(date +%s%N) - t0) / 1000000))
PID=
check "36: --idle-timeout 2 exits 0 when idle (rc $rc after $el ms)" test "$rc" = 0 -a $el -lt 6000

# 32: black-hole DNS, only in our own namespaces
if [ "$ALGA_AGENT_IN_NS" != 1 ]; then
	skip "32: black-hole DNS needs a private network and mount namespace (unshare -rnm refused)"
elif ! { echo "nameserver 127.0.0.1" >"$D/resolv.conf" && mount --bind "$D/resolv.conf" /etc/resolv.conf; } 2>/dev/null; then
	skip "32: cannot bind-mount a resolv.conf in the private mount namespace"
else
	# a resolver that takes every query and never answers
	"$PY" -c '
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 53))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", 53)); t.listen(16)
import threading
def tcp():
	held = []
	while True:
		held.append(t.accept()[0])
threading.Thread(target=tcp, daemon=True).start()
while True:
	u.recvfrom(4096)
' &
	BH=$!
	sleep 0.3
	start_agent --idle-timeout 30
	t0=$(date +%s%N)
	call -X POST http://localhost/v1/support-bundle >"$D/bh.json" &
	POST=$!
	sleep 1
	worst=0
	for _ in 1 2 3 4 5; do
		t=$(curl -s -o /dev/null -w '%{time_total}' --unix-socket "$S" http://localhost/v1/health)
		worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { print (b > a) ? b : a }')
		sleep 0.5
	done
	wait $POST
	el=$((($(date +%s%N) - t0) / 1000000))
	check "32: POST answers in < 25 s ($el ms)" test $el -lt 25000
	check "32: dns-lookup-ghcr.txt status 124" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["files"] if f["path"] == "host/dns-lookup-ghcr.txt"][0]
assert f["status"] == 124, f' "$D/bh.json"
	check "32: /v1/health < 100 ms meanwhile (worst ${worst}s)" awk -v w="$worst" 'BEGIN { exit !(w < 0.1) }'
	stop_agent
	kill $BH 2>/dev/null
	wait $BH 2>/dev/null
fi

[ -s "$D/agent.log" ] && grep -v "Collect" "$D/agent.log" | head -5 | while read -r l; do diag "$l"; done
finish
