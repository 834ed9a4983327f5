#!/usr/bin/env python3
# make-big-export.py FILE MIB: journal export text of about MIB MiB for
# systemd-journal-remote: k3s.service lines of ~8 KiB, each holding a
# password= that the bundle must redact (tests/bundle 41, bench-bundle).
import base64, os, sys

out = open(sys.argv[1], "wb")
n = int(sys.argv[2]) * 1024 * 1024 // 8300
t0 = 1700000000000000
for i in range(n):
    pad = base64.b64encode(os.urandom(6000)).decode()
    out.write(("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"
               "_HOSTNAME=appliance\n_SYSTEMD_UNIT=k3s.service\nSYSLOG_IDENTIFIER=k3s\n_PID=7\nPRIORITY=6\n"
               "MESSAGE=line %d password=hunter%d %s\n\n" % (t0 + i * 1000, 1000 + i * 1000, i, i, pad)).encode())
