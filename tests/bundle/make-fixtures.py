#!/usr/bin/env python3
# make-fixtures.py DIR: the canary fixtures of tests/bundle: fakekube
# objects and pod logs (DIR/objects, DIR/logs), a journal export
# (DIR/journal.export), a --root tree (DIR/root) and DIR/canaries, one
# distinct secret per line in every shape the rules claim to redact.
import base64, json, os, sys

D = sys.argv[1]
canaries = []


def c(tag):
    v = "CANARY%sZQX" % tag
    canaries.append(v)
    return v


SESSION = "5e1f" + "0b" * 30            # T0: the session secret, bare
TOKEN = "4821-0937-5564-1209-8876"      # T10 shape, also T0 as the setup token
K3S = "K10" + "ab" * 32 + "::server:" + c("K3S")
JWT = "eyJ" + c("JWT") + "aa." + c("JWT2") + "bb.sig"
PEMB64 = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t" + base64.b64encode(c("PEMB64").encode()).decode()

# the text shapes of T1-T12 (and T0), one canary each
lines = [
    "login password=%s ok" % c("T8EQ"),
    "db password: %s and more" % c("T8COLON"),
    'PASSWORD="%s with space"' % c("T8QUOTE"),
    "run --client-secret %s --v=2" % c("T8FLAG"),
    "x-api-key: %s" % c("T8HDR"),
    "Authorization: Bearer %s" % c("T3"),
    "proxy-authorization=Basic %s" % c("T3B"),
    "Cookie: alga_session=%s; theme=dark" % c("T4"),
    "set-cookie: alga_appliance_session=%s; Path=/" % c("T4B"),
    "got bearer %s from idp" % c("T5"),
    "dsn postgres://alga:%s@db.msp:5432/psa" % c("T6"),
    '{"apiKey":"%s","user":"x"}' % c("T7"),
    '{"token":987650123}',
    '{"password":"a\\"%s"}' % c("T7ESC"),
    "jwt " + JWT,
    "token shape " + TOKEN,
    "join " + K3S,
    "blob " + PEMB64,
    "dump " + SESSION,
    '{"note":"%s"}' % SESSION,
]
canaries += ["987650123", TOKEN, SESSION]
pem = ["-----BEGIN PRIVATE KEY-----", "MIIE" + c("T1"), "-----END PRIVATE KEY-----"]
data_block = ["kind: Secret", "data:", "  password: " + base64.b64encode(c("T2").encode()).decode(),
              "stringData:", "  key: " + c("T2S"), "metadata:", "  name: x"]
text = lines + pem + data_block

os.makedirs(D + "/objects", exist_ok=True)
objs = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
    for n in ["flux-system", "alga-system", "msp"]
]
objs += [
    {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
     "metadata": {"name": "alga-psa-shared", "namespace": "msp"},
     "data": {"DB_PASSWORD": base64.b64encode(c("SECRETDATA").encode()).decode(),
              "plain": base64.b64encode(c("SECRETDATA2").encode()).decode()}},
    {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
     "metadata": {"name": "other", "namespace": "alga-system"},
     "data": {"x": base64.b64encode(c("SECRETDATA3").encode()).decode()}},
    {"apiVersion": "v1", "kind": "ConfigMap",
     "metadata": {"name": "alga-config", "namespace": "msp"},
     "data": {"DATABASE_URL": "postgres://u:%s@h/x" % c("CMURL"), "mode": c("CMVALUE")}},
    {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
     "metadata": {"name": "alga-core", "namespace": "msp",
                  "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                  '{"x":"%s"}' % c("LASTAPPLIED")},
                  "managedFields": [{"manager": "kubectl", "operation": "Update",
                                     "fieldsV1": {"f:" + c("MANAGED"): {}}}]},
     "spec": {"interval": "10m", "chart": {"spec": {"chart": "alga"}},
              "values": {"db": {"password": c("HRDBPW"), "host": "db"},
                         "apiKey": c("HRAPIKEY"), "smtp": {"credentials": {"u": c("HRCRED")}},
                         "note": "Authorization: Bearer " + c("HRTEXT"),
                         # strings a YAML 1.1 reader would take for other types
                         "ambiguous": {"enabled": "yes", "version": "1.0", "date": "2001-12-14",
                                       "octal": "0o17", "empty": "", "tilde": "~",
                                       "port": 5432, "ratio": 0.5, "on": True},
                         "config": "db:\n  password: %s\nmode: fast\n" % c("HRBLOCK")}}},
    {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
     "metadata": {"name": "alga-appliance", "namespace": "flux-system"},
     "spec": {"url": "oci://robot:%s@ghcr.io/alga/config" % c("OCIURL"), "interval": "10m",
              "ref": {"digest": "sha256:" + "0" * 64}}},
    {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
     "metadata": {"name": "alga-appliance", "namespace": "flux-system"},
     "spec": {"interval": "10m", "path": "./", "prune": True,
              "postBuild": {"substitute": {"ADMIN_TOKEN": c("KSSUBST")}}}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "namespace": "msp"},
     "spec": {"containers": [{"name": "web", "image": "x"}, {"name": "side", "image": "y"}]},
     "status": {"phase": "Running",
                "containerStatuses": [{"name": "web", "restartCount": 1, "ready": True}]}},
]
with open(D + "/objects/fixtures.json", "w") as f:
    json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f)
crd_dir = os.path.join(os.environ["ALGA_SOURCE_ROOT"], "tests/fixtures/fakekube/crds")
for n in os.listdir(crd_dir):
    with open(os.path.join(crd_dir, n)) as src, open(D + "/objects/00-" + n, "w") as dst:
        dst.write(src.read())

os.makedirs(D + "/logs/msp/web-0", exist_ok=True)
with open(D + "/logs/msp/web-0/web.log", "w") as f:
    f.write("\n".join(text) + "\n")
with open(D + "/logs/msp/web-0/web.previous.log", "w") as f:
    f.write("crashed with password=%s\n" % c("PREVLOG"))
with open(D + "/logs/msp/web-0/side.log", "w") as f:
    f.write("side token=%s\n" % c("SIDELOG"))

# the journal: the same shapes through appliance-journal and journal-errors
with open(D + "/journal.export", "w") as f:
    t0 = 1700000000000000
    # one message per line shape; the PEM block as one multi-line message
    # (a block split over entries is a residual gap, alga-bundle(8))
    for i, line in enumerate(lines + ["\n".join(pem), "journal secret=" + c("JOURNAL")]):
        f.write("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n" % (t0 + i, 1000 + i))
        f.write("_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=appliance\n")
        f.write("_SYSTEMD_UNIT=alga-setup.service\nSYSLOG_IDENTIFIER=alga-setup\n_PID=9\n")
        f.write("PRIORITY=%d\n" % (3 if i % 2 else 6))
        m = line.encode()
        if b"\n" in m:
            f.write("MESSAGE\n")
            f.flush()
            f.buffer.write(len(m).to_bytes(8, "little") + m + b"\n\n")
        else:
            f.write("MESSAGE=%s\n\n" % line)

# the root: known secrets (T0), state files (S3), denylisted files
R = D + "/root"
for d in ["var/lib/alga/secrets", "var/lib/alga/setup", "usr/share/alga", "etc/rancher/k3s",
          "var/lib/rancher/k3s/server/tls"]:
    os.makedirs(os.path.join(R, d), exist_ok=True)


def w(p, s, mode=0o640):
    p = os.path.join(R, p)
    with open(p, "w") as f:
        f.write(s)
    os.chmod(p, mode)


w("var/lib/alga/setup-token", TOKEN + "\n")
w("var/lib/alga/secrets/session-secret", SESSION + "\n")
w("var/lib/alga/secrets/alga-auth-key", c("AUTHKEY") + "\n")
w("var/lib/alga/setup/admin-credential.json", '{"hash":"%s"}' % c("ADMINCRED"), 0o600)
w("var/lib/alga/setup/sessions.json", '{"s":"%s"}' % c("SESSIONS"), 0o600)
w("var/lib/alga/setup/setup.json",
  json.dumps({"version": 1, "status": "setup-complete", "adminPassword": c("SETUPPW"),
              "nested": {"apiToken": c("SETUPTOKEN"), "n": 1}}))
w("var/lib/alga/setup/release-selection.json", '{"version":1,"releaseVersion":"1.0.0"}')
w("usr/share/alga/build-info.json", '{"version":"0.1.0","buildTimestamp":"2025-01-01T00:00:00Z"}')
w("var/lib/rancher/k3s/server/token", K3S + "\n", 0o600)
w("var/lib/rancher/k3s/server/tls/client-ca.key", "-----BEGIN EC PRIVATE KEY-----\n%s\n" % c("TLSKEY"), 0o600)
w("etc/os-release", 'PRETTY_NAME="Test Linux"\nID=test\n', 0o644)
# bootstrap.json is a symlink to a denylisted file (test 44)
os.symlink("setup/admin-credential.json", os.path.join(R, "var/lib/alga/bootstrap.json"))

with open(D + "/canaries", "w") as f:
    f.write("\n".join(canaries) + "\n")
