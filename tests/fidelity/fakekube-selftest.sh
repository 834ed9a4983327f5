#!/bin/bash
# SPDX-License-Identifier: MIT
# fakekube's own contract, without kubectl: start-up, READY line,
# kubeconfig, auth, control API, request log, clean exit on SIGTERM. TAP.
set -u

. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip_all "openssl not found"
"$PY" -c 'import yaml' 2>/dev/null || skip_all "python3-yaml not installed"

trap 'fk_stop' EXIT
if fk_start; then
	ok "starts and prints READY <port> ($FK_PORT)"
else
	not_ok "starts and prints READY <port>"
	tap_end
	exit 1
fi

t_files() {
	[ -s "$FK_STATE/kubeconfig" ] && [ -f "$FK_STATE/requests.jsonl" ] && \
		[ "$(cat "$FK_STATE/port")" = "$FK_PORT" ] && [ -s "$FK_STATE/token" ] || return 1
	[ "$(stat -c %a "$FK_STATE/kubeconfig")" = 600 ]
}
check "writes kubeconfig (0600), requests.jsonl, port, token" t_files

t_kubeconfig() {
	"$PY" - "$FK_STATE" "$FK_PORT" <<'EOF'
import base64, sys, yaml
d, port = sys.argv[1], sys.argv[2]
c = yaml.safe_load(open(d + "/kubeconfig"))
assert c["current-context"] == "fakekube"
ctx = {x["name"]: x["context"] for x in c["contexts"]}
users = {x["name"]: x["user"] for x in c["users"]}
cl = c["clusters"][0]["cluster"]
assert cl["server"] == "https://127.0.0.1:%s" % port
assert base64.b64decode(cl["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE")
u = users[ctx["fakekube"]["user"]]
assert base64.b64decode(u["client-certificate-data"]).startswith(b"-----BEGIN CERTIFICATE")
assert b"PRIVATE KEY" in base64.b64decode(u["client-key-data"])
assert users[ctx["fakekube-token"]["user"]]["token"] == open(d + "/token").read().strip()
EOF
}
check "kubeconfig: current-context is the client-cert one, data embedded, token context" t_kubeconfig

t_cert() {
	openssl x509 -in "$FK_STATE/tls/client.crt" -noout -subject | grep -q 'CN *= *alga' || return 1
	openssl verify -CAfile "$FK_STATE/tls/client-ca.crt" "$FK_STATE/tls/client.crt" >/dev/null || return 1
	openssl verify -CAfile "$FK_STATE/tls/server-ca.crt" "$FK_STATE/tls/server.crt" >/dev/null || return 1
	! openssl verify -CAfile "$FK_STATE/tls/server-ca.crt" "$FK_STATE/tls/client.crt" >/dev/null 2>&1
}
check "client cert CN=alga from its own client CA, distinct from the server CA" t_cert

# raw HTTPS requests, so the fixture is checked without any Kubernetes client
http() {
	"$PY" - "$FK_STATE" "$@" <<'EOF'
import json, ssl, sys, urllib.request, urllib.error
d, mode, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
ctx = ssl.create_default_context(cafile=d + "/tls/server-ca.crt")
headers = {"Content-Type": sys.argv[6] if len(sys.argv) > 6 else "application/json"}
if mode == "cert":
	ctx.load_cert_chain(d + "/tls/client.crt", d + "/tls/client.key")
elif mode == "token":
	headers["Authorization"] = "Bearer " + open(d + "/token").read().strip()
port = int(open(d + "/port").read())
req = urllib.request.Request("https://127.0.0.1:%d%s" % (port, path), data=body, method=method, headers=headers)
try:
	r = urllib.request.urlopen(req, context=ctx, timeout=10)
	code, out = r.status, r.read()
except urllib.error.HTTPError as e:
	code, out = e.code, e.read()
print(code)
sys.stdout.write(out.decode(errors="replace") + "\n")
EOF
}

t_public() {
	[ "$(http none GET /readyz | tr '\n' ' ')" = "200 ok " ] || return 1
	[ "$(http none GET /livez | head -n1)" = 200 ] || return 1
	http none GET /version | tail -n1 | grep -q '"gitVersion":"v1.31.5+k3s1"'
}
check "/readyz, /livez, /version answer without credentials" t_public

t_auth() {
	local out
	out=$(http none GET /api/v1/namespaces)
	[ "$(head -n1 <<<"$out")" = 401 ] && grep -q '"kind":"Status".*"reason":"Unauthorized"' <<<"$out" || return 1
	[ "$(http cert GET /api/v1/namespaces | head -n1)" = 200 ] || return 1
	[ "$(http token GET /api/v1/namespaces | head -n1)" = 200 ]
}
check "API needs the client cert or the token (401 Status otherwise)" t_auth

t_crud() {
	local out
	out=$(http cert POST /api/v1/namespaces/default/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"v"}}')
	[ "$(head -n1 <<<"$out")" = 201 ] || { echo "$out"; return 1; }
	out=$(http cert PATCH '/api/v1/namespaces/default/configmaps/b?fieldManager=alga-setup' \
		'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"},"data":{"k":"v"}}' application/apply-patch+yaml)
	[ "$(head -n1 <<<"$out")" = 201 ] || { echo "$out"; return 1; }
	out=$(http cert PATCH '/api/v1/namespaces/default/configmaps/b' '{"data":{"k":"w"}}' application/apply-patch+yaml)
	[ "$(head -n1 <<<"$out")" = 400 ] || { echo "apply without fieldManager: $out"; return 1; }
	out=$(http cert GET '/api/v1/namespaces/default/configmaps/b')
	grep -q '"manager":"alga-setup","operation":"Apply"' <<<"$out" || { echo "$out"; return 1; }
	out=$(http cert DELETE /api/v1/namespaces/default/configmaps/zzz)
	[ "$(head -n1 <<<"$out")" = 404 ] && grep -q '"reason":"NotFound"' <<<"$out" || return 1
	out=$(http cert GET '/api/v1/namespaces/default/configmaps?limit=1')
	grep -q '"continue":"' <<<"$out"
}
check "create, apply (fieldManager required), get, 404 Status, paging over raw HTTPS" t_crud

t_control() {
	fkctl health | grep -q '"ok": *true' || return 1
	fkctl fault status --status 503 --path '^/api/v1/namespaces$' --count 2 >/dev/null || return 1
	[ "$(http cert GET /api/v1/namespaces | head -n1)" = 503 ] || return 1
	[ "$(http cert GET /api/v1/namespaces | head -n1)" = 503 ] || return 1
	[ "$(http cert GET /api/v1/namespaces | head -n1)" = 200 ] || return 1
	fkctl fault body --body '{"kind":"Pod"}' --path '^/api/v1/namespaces$' >/dev/null || return 1
	[ "$(http cert GET /api/v1/namespaces | tail -n1)" = '{"kind":"Pod"}' ] || return 1
	fkctl status ConfigMap default/a --json '{"x":1}' >/dev/null || return 1
	http cert GET /api/v1/namespaces/default/configmaps/a | grep -q '"status":{"x":1}'
}
check "control API: faults (count), raw body, status merge" t_control

t_log() {
	"$PY" - "$FK_STATE/requests.jsonl" <<'EOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert len(rs) >= 10, len(rs)
r = [x for x in rs if x["method"] == "PATCH" and x["status"] == 201][0]
assert r["fieldManager"] == "alga-setup" and r["contentType"] == "application/apply-patch+yaml" and r["bodySize"] > 0
assert not any(x["path"].startswith("/_control") for x in rs)
assert [x["status"] for x in rs if x["fault"] == "status"] == [503, 503]
EOF
}
check "requests.jsonl has one line per API request with the fields" t_log

t_port() {
	local st port pid line
	port=$(( (FK_PORT % 20000) + 30000 ))
	st=$(mktemp -d)
	"$PY" "$FAKEKUBE" --state-dir "$st" --port "$port" >"$st/out" 2>"$st/err" &
	pid=$!
	for _ in $(seq 200); do
		line=$(head -n1 "$st/out")
		[ -n "$line" ] && break
		sleep 0.05
	done
	kill -TERM $pid
	wait $pid
	local rc=$?
	rm -rf "$st"
	[ "$line" = "READY $port" ] && [ $rc -eq 0 ]
}
check "--port N is honoured" t_port

trap - EXIT
t0=$(date +%s%N)
if fk_stop; then
	ok "exits 0 on SIGTERM ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
else
	not_ok "exits 0 on SIGTERM"
fi
tap_end
