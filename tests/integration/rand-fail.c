/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * LD_PRELOAD shim for host.md test 11: OpenSSL's generator refuses, as it
 * may when it cannot seed. The tool under test must exit 1 and write
 * nothing.
 */
int RAND_bytes(unsigned char *buf, int num);
int RAND_priv_bytes(unsigned char *buf, int num);

int RAND_bytes(unsigned char *buf, int num)
{
	return 0;
}

int RAND_priv_bytes(unsigned char *buf, int num)
{
	return 0;
}
