#!/usr/bin/env python3
# make-journal.py OUT.export: the journal fixture of host.md tests 31 and 37
# in journal export format, for systemd-journal-remote -o FILE.journal -.
# 5000 entries over 3 units (two of ours, one foreign); the matching ones
# are numbered "entry N"; a 20 KiB MESSAGE, a binary one last and a
# password=hunter2 line near the end, and the sandbox's session secret
# unlabelled (T0).
import struct
import sys

BOOT = "0123456789abcdef0123456789abcdef"
units = ["alga-bootstrap.service", "k3s.service", "other.service"]
t0 = 1700000000000000

out = open(sys.argv[1], "wb")
n_match = 0
for i in range(5000):
    unit = units[i % 3]
    fields = [
        ("__REALTIME_TIMESTAMP", str(t0 + i * 1000000)),
        ("__MONOTONIC_TIMESTAMP", str(1000000 + i * 1000000)),
        ("_BOOT_ID", BOOT),
        ("_HOSTNAME", "appliance"),
        ("_SYSTEMD_UNIT", unit),
        ("SYSLOG_IDENTIFIER", unit.split(".")[0]),
        ("_PID", str(100 + i % 3)),
    ]
    if unit != "other.service":
        n_match += 1
        if i == 4990:
            msg = "big " + "x" * (20 * 1024)
        elif i == 4993:
            msg = "login password=hunter2 ok"
        elif i == 4996:
            # the sandbox's session secret, bare: only T0 (known secrets) sees it
            msg = "dump 5e1f" + "0a" * 30
        else:
            msg = "entry %d" % i
    else:
        msg = "foreign %d" % i
    fields.append(("MESSAGE", msg))
    for k, v in fields:
        out.write(("%s=%s\n" % (k, v)).encode())
    out.write(b"\n")

# binary MESSAGE, matching, last
blob = b"bin\x00\x01\x02data"
for k, v in [("__REALTIME_TIMESTAMP", str(t0 + 5000 * 1000000)),
             ("__MONOTONIC_TIMESTAMP", str(1000000 + 5000 * 1000000)),
             ("_BOOT_ID", BOOT), ("_HOSTNAME", "appliance"),
             ("_SYSTEMD_UNIT", "k3s.service"), ("SYSLOG_IDENTIFIER", "k3s"), ("_PID", "7")]:
    out.write(("%s=%s\n" % (k, v)).encode())
out.write(b"MESSAGE\n" + struct.pack("<Q", len(blob)) + blob + b"\n\n")
out.close()
