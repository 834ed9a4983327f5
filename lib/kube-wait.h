/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "kube.h"
#include "macro.h"

/*
 * Wait helpers: poll an object with GETs until a condition holds or a
 * deadline passes (host.md §4.3.1: Available after storage and Flux,
 * Established after CRDs, Ready for Flux objects). Blocking mode only
 * (-EBUSY in event mode). Polls start every ALGA_KUBE_WAIT_POLL_MIN_USEC
 * and back off to ALGA_KUBE_WAIT_POLL_MAX_USEC.
 */

#define ALGA_KUBE_WAIT_POLL_MIN_USEC (100u * USEC_PER_MSEC)
#define ALGA_KUBE_WAIT_POLL_MAX_USEC (2u * USEC_PER_SEC)

#define ALGA_KUBE_CONDITION_READY "Ready"
#define ALGA_KUBE_CONDITION_ESTABLISHED "Established"
#define ALGA_KUBE_CONDITION_AVAILABLE "Available"

/*
 * Looks up condition type in obj's status.conditions. Returns 1 with
 * *ret_status ("True", "False", "Unknown") and optional reason and message
 * (owned by obj, NULL when absent); 0 when the condition is absent or
 * stale: status.observedGeneration, or the condition's own, is behind
 * metadata.generation (the controller has not seen the latest spec yet);
 * -EBADMSG when conditions is not an array of objects.
 */
int alga_kube_condition(struct json_object *obj, const char *type, const char **ret_status,
			const char **ret_reason, const char **ret_message);

/*
 * GETs path until its condition type is "True" and current, for at most
 * timeout_usec. Returns 0; -ETIMEDOUT with *reterr_detail naming the last
 * state seen ("Ready is False: Progressing: ..."). A missing object, a
 * timeout or a 5xx of one poll is retried; -EACCES, -EINVAL and malformed
 * bodies end the wait at once.
 */
int alga_kube_wait_condition(struct alga_kube *kube, const char *path, const char *type,
			     uint64_t timeout_usec, char **reterr_detail);

/*
 * GETs path until it answers 404 (a delete with finalizers or foreground
 * propagation finished), for at most timeout_usec. 0 once gone,
 * -ETIMEDOUT when still there (the detail names deletionTimestamp and
 * finalizers).
 */
int alga_kube_wait_gone(struct alga_kube *kube, const char *path, uint64_t timeout_usec,
			char **reterr_detail);

/* alga_kube_delete() then alga_kube_wait_gone(); an object already gone is 0 */
int alga_kube_delete_wait(struct alga_kube *kube, const char *path, enum alga_kube_propagation p,
			  uint64_t timeout_usec, char **reterr_detail);
