#!/usr/bin/env python3
"""test-user-data.py: iso/user-data is cloud-config YAML that Subiquity
accepts as autoinstall, and says what release.md §4.9 says (TAP).

    test-user-data.py [--check-only USER-DATA]

Without arguments it checks iso/user-data, iso/meta-data and that the
enable line matches overlay/'s preset; --check-only checks the given file
(T42 runs it on the copy extracted from the built image).
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("ALGA_SOURCE_ROOT") or os.path.normpath(os.path.join(HERE, "..", ".."))

try:
    import yaml
except ImportError:
    print("1..0 # SKIP python3-yaml not installed")
    sys.exit(0)
try:
    import jsonschema
except ImportError:
    jsonschema = None

# Subiquity's top-level autoinstall keys (its autoinstall-schema.json) and
# the sections it can leave interactive
SUBIQUITY_KEYS = {
    "version", "interactive-sections", "early-commands", "locale", "refresh-installer",
    "keyboard", "source", "network", "proxy", "apt", "storage", "identity",
    "active-directory", "ubuntu-pro", "ubuntu-advantage", "ssh", "codecs", "drivers", "oem",
    "snaps", "debconf-selections", "packages", "kernel", "kernel-crash-dumps", "timezone",
    "updates", "shutdown", "late-commands", "error-commands", "reporting", "user-data",
    "zdevs",
}
INTERACTIVE = {"*", "locale", "refresh-installer", "keyboard", "source", "network", "proxy",
               "apt", "storage", "identity", "ssh", "ubuntu-pro", "drivers", "codecs",
               "timezone", "updates"}

# the parts of Subiquity's schema our file uses, as Subiquity declares them
SCHEMA = {
    "type": "object",
    "required": ["autoinstall"],
    "properties": {"autoinstall": {
        "type": "object",
        "required": ["version"],
        "additionalProperties": False,
        "properties": {
            **{k: {} for k in SUBIQUITY_KEYS},
            "version": {"type": "integer", "minimum": 1, "maximum": 1},
            "interactive-sections": {"type": "array", "items": {"type": "string", "enum": sorted(INTERACTIVE)}},
            "locale": {"type": "string"},
            "keyboard": {"type": "object", "required": ["layout"],
                         "properties": {"layout": {"type": "string"}, "variant": {"type": "string"},
                                        "toggle": {"type": ["string", "null"]}},
                         "additionalProperties": False},
            "timezone": {"type": "string"},
            "apt": {"type": "object", "properties": {"geoip": {"type": "boolean"},
                                                     "preserve_sources_list": {"type": "boolean"}}},
            "ssh": {"type": "object", "additionalProperties": False,
                    "properties": {"install-server": {"type": "boolean"},
                                   "authorized-keys": {"type": "array", "items": {"type": "string"}},
                                   "allow-pw": {"type": "boolean"}}},
            "storage": {"type": "object"},
            "packages": {"type": "array", "items": {"type": "string"}},
            "user-data": {"type": "object"},
            "late-commands": {"type": "array", "items": {"type": ["string", "array"]}},
            "shutdown": {"type": "string", "enum": ["reboot", "poweroff"]},
        },
    }},
}

REQUIRED_UNITS = ["alga-token.service", "alga-bootstrap.service", "alga-setup.socket",
                  "alga-agent.socket"]
REQUIRED_LIBS = ["openssh-server", "ca-certificates", "libcurl4t64", "libjson-c5", "libyaml-0-2",
                 "libarchive13t64", "libmicrohttpd12t64", "libssl3t64"]

n = 0
failed = 0


def point(good, name, detail=""):
    global n, failed
    n += 1
    if good:
        print(f"ok {n} - {name}")
    else:
        failed += 1
        print(f"not ok {n} - {name}")
        for line in str(detail).splitlines()[:20]:
            print(f"# {line}")


def walk_keys(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from walk_keys(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_keys(v)


def check_user_data(path):
    text = open(path, encoding="utf-8").read()
    point(text.startswith("#cloud-config\n"), "user-data starts with #cloud-config")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        point(False, "user-data is valid YAML", e)
        return None
    point(isinstance(doc, dict) and isinstance(doc.get("autoinstall"), dict),
          "user-data is YAML with an autoinstall mapping")
    if not isinstance(doc, dict) or not isinstance(doc.get("autoinstall"), dict):
        return None
    ai = doc["autoinstall"]
    if jsonschema:
        try:
            jsonschema.validate(doc, SCHEMA)
            point(True, "autoinstall validates against Subiquity's schema (the keys used)")
        except jsonschema.ValidationError as e:
            point(False, "autoinstall validates against Subiquity's schema (the keys used)", e.message)
    else:
        print(f"ok {n + 1} - autoinstall schema # SKIP python3-jsonschema not installed")
        globals()["n"] += 1
    point(ai.get("version") == 1, "autoinstall version 1")
    unknown = set(ai) - SUBIQUITY_KEYS
    point(not unknown, "only keys Subiquity knows", sorted(unknown))
    sections = ai.get("interactive-sections") or []
    point(set(sections) == {"network", "storage", "identity"},
          "network, storage and identity stay interactive", sections)
    # Subiquity needs identity (or user-data users) unless it is interactive
    point("identity" in sections and "identity" not in ai, "no baked identity", ai.get("identity"))
    layout = (ai.get("storage") or {}).get("layout") or {}
    point(layout.get("name") == "lvm" and layout.get("sizing-policy") == "all",
          "storage: lvm, sizing-policy all (release.md D19)", layout)
    pkgs = ai.get("packages") or []
    point(all(p in pkgs for p in REQUIRED_LIBS), "packages: the suite's libraries",
          sorted(set(REQUIRED_LIBS) - set(pkgs)))
    point(not any(re.match(r"^(nodejs|npm|git|jq)$", p) for p in pkgs),
          "packages: no nodejs, npm, git, jq (release.md D20)", pkgs)
    point(ai.get("ssh", {}).get("install-server") is True, "ssh server installed")
    point(ai.get("user-data", {}).get("disable_root") is True, "root login disabled")
    point(ai.get("shutdown") == "reboot", "shutdown: reboot")
    keys = [k.lower() for k in walk_keys(doc)]
    point(not any("passw" in k for k in keys) and not re.search(r"\$[156y]\$", text),
          "no password or password hash anywhere")
    cmds = [c if isinstance(c, str) else " ".join(c) for c in ai.get("late-commands") or []]
    point(cmds[:2] == ["test -d /cdrom/alga-overlay", "cp -a /cdrom/alga-overlay/. /target/"],
          "late-commands copy /cdrom/alga-overlay onto /target first", cmds[:2])
    point(any(c.endswith("-- systemd-sysusers") for c in cmds), "late-commands run systemd-sysusers")
    point(any("systemd-tmpfiles --create" in c for c in cmds), "late-commands run systemd-tmpfiles")
    enable = [c for c in cmds if " -- systemctl enable " in c]
    units = enable[0].split(" -- systemctl enable ", 1)[1].split() if len(enable) == 1 else []
    point(len(enable) == 1 and all(u in units for u in REQUIRED_UNITS),
          "one systemctl enable line with token, bootstrap, setup.socket, agent.socket", enable)
    point(any(c.endswith("-- /usr/bin/alga-resolve --version") for c in cmds),
          "late-commands smoke-run alga-resolve --version (release.md D20)")
    point(cmds and cmds[-1] == "touch /target/boot/.alga-installed",
          "disk marker /boot/.alga-installed written last (release.md D19)", cmds[-1:])
    point(not any("/etc/" in c and "installed" in c for c in cmds), "no disk marker in /etc")
    for c in cmds:
        if c.startswith("curtin in-target"):
            if not c.startswith("curtin in-target --target=/target -- "):
                point(False, "curtin in-target commands name --target=/target", c)
                break
    else:
        point(True, "curtin in-target commands name --target=/target")
    return units


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check-only":
        check_user_data(sys.argv[2])
    elif len(sys.argv) == 1:
        units = check_user_data(os.path.join(SRC, "iso", "user-data"))
        preset = os.path.join(SRC, "overlay", "usr", "lib", "systemd", "system-preset", "80-alga.preset")
        enabled = [l.split()[1] for l in open(preset) if l.startswith("enable ")]
        point(len(enabled) == 8 and sorted(enabled) == sorted(units or []),
              "enable line = the 8 units of the preset (resolutions.md B2)",
              f"preset {sorted(enabled)}\nuser-data {sorted(units or [])}")
        point("k3s.service" not in (units or []), "k3s.service is not enabled")
        try:
            meta = yaml.safe_load(open(os.path.join(SRC, "iso", "meta-data")))
            point(meta == {"instance-id": "alga-appliance", "local-hostname": "alga-appliance"},
                  "meta-data: instance-id and local-hostname alga-appliance", meta)
        except yaml.YAMLError as e:
            point(False, "meta-data is valid YAML", e)
    else:
        print("usage: test-user-data.py [--check-only USER-DATA]", file=sys.stderr)
        return 2
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
