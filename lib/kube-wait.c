/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "json.h"
#include "kube-wait.h"
#include "log.h"

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

static void sleep_usec(uint64_t usec)
{
	struct timespec ts = {
		.tv_sec = (time_t)(usec / USEC_PER_SEC),
		.tv_nsec = (long)(usec % USEC_PER_SEC) * 1000,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int alga_kube_condition(struct json_object *obj, const char *type, const char **ret_status,
			const char **ret_reason, const char **ret_message)
{
	struct json_object *conds = NULL;
	int64_t generation = 0, observed = 0;
	size_t n;
	int r;

	if (!obj || !type)
		return -EINVAL;

	r = alga_json_get_int64(obj, "metadata.generation", ALGA_JSON_OPTIONAL, 0, INT64_MAX,
				&generation, NULL);
	if (r < 0)
		return -EBADMSG;
	r = alga_json_get_int64(obj, "status.observedGeneration", ALGA_JSON_OPTIONAL, 0, INT64_MAX,
				&observed, NULL);
	if (r < 0)
		return -EBADMSG;
	if (r > 0 && generation > 0 && observed < generation)
		return 0;

	r = alga_json_get_array(obj, "status.conditions", ALGA_JSON_OPTIONAL, &conds, NULL);
	if (r < 0)
		return -EBADMSG;
	if (r == 0)
		return 0;

	n = json_object_array_length(conds);
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);
		const char *t, *status, *reason = NULL, *message = NULL;
		int64_t cgen = 0;

		if (!c || !json_object_is_type(c, json_type_object))
			return -EBADMSG;
		if (alga_json_get_string(c, "type", ALGA_JSON_REQUIRED, &t, NULL) < 0)
			return -EBADMSG;
		if (!streq(t, type))
			continue;
		if (alga_json_get_string(c, "status", ALGA_JSON_REQUIRED, &status, NULL) < 0 ||
		    alga_json_get_string(c, "reason", ALGA_JSON_OPTIONAL, &reason, NULL) < 0 ||
		    alga_json_get_string(c, "message", ALGA_JSON_OPTIONAL, &message, NULL) < 0)
			return -EBADMSG;
		r = alga_json_get_int64(c, "observedGeneration", ALGA_JSON_OPTIONAL, 0, INT64_MAX,
					&cgen, NULL);
		if (r < 0)
			return -EBADMSG;
		if (r > 0 && generation > 0 && cgen < generation)
			return 0;
		*ret_status = status;
		if (ret_reason)
			*ret_reason = reason;
		if (ret_message)
			*ret_message = message;
		return 1;
	}
	return 0;
}

/* one GET bounded by deadline; 0 with *ret, or the request's errno */
static int poll_once(struct alga_kube *kube, const char *path, uint64_t deadline,
		     struct json_object **ret, char **ret_message)
{
	_cleanup_(alga_kube_request_freep) struct alga_kube_request *req = NULL;
	int r;

	r = alga_kube_request_new(kube, ALGA_KUBE_GET, path, &req);
	if (r < 0)
		return r;
	alga_kube_request_set_deadline(req, deadline);
	r = alga_kube_submit(kube, req, NULL, NULL);
	if (r < 0)
		return r;
	r = alga_kube_run_until(kube, req, 0);
	if (r < 0)
		return r;
	r = alga_kube_request_result(req);
	if (r < 0) {
		if (ret_message && alga_kube_request_message(req)) {
			free(*ret_message);
			*ret_message = strdup(alga_kube_request_message(req));
		}
		return r;
	}
	if (!alga_kube_request_json(req) ||
	    !json_object_is_type(alga_kube_request_json(req), json_type_object))
		return -EBADMSG;
	return alga_kube_request_steal_json(req, ret);
}

/* errors one poll may see while the cluster settles */
static bool is_transient(int r)
{
	return r == -ENOENT || r == -ETIMEDOUT || r == -EIO || r == -EAGAIN || r == -ECONNREFUSED ||
	       r == -ECONNRESET || r == -EBUSY;
}

static uint64_t next_interval(uint64_t interval)
{
	return MIN(interval * 3 / 2, (uint64_t)ALGA_KUBE_WAIT_POLL_MAX_USEC);
}

int alga_kube_wait_condition(struct alga_kube *kube, const char *path, const char *type,
			     uint64_t timeout_usec, char **reterr_detail)
{
	uint64_t start = now_usec(), deadline = start + timeout_usec,
		 interval = ALGA_KUBE_WAIT_POLL_MIN_USEC;
	_cleanup_free_ char *last = NULL;
	int r;

	if (!kube || !path || isempty(type) || timeout_usec == 0)
		return -EINVAL;

	for (;;) {
		_cleanup_(json_object_putp) struct json_object *o = NULL;
		_cleanup_free_ char *message = NULL;
		const char *status = NULL, *reason = NULL, *msg = NULL;
		uint64_t now;

		r = poll_once(kube, path, deadline, &o, &message);
		if (r == -EBUSY && alga_kube_in_flight(kube) == 0)
			return r; /* event mode */
		if (r < 0 && !is_transient(r)) {
			alga_set_detail(0, reterr_detail, "Waiting for %s on %s: %s", type, path,
				   message ?: strerror(-r));
			return r;
		}
		if (r >= 0) {
			r = alga_kube_condition(o, type, &status, &reason, &msg);
			if (r < 0) {
				alga_set_detail(0, reterr_detail,
					   "Waiting for %s on %s: status.conditions is malformed.",
					   type, path);
				return r;
			}
			if (r > 0 && streq(status, "True"))
				return 0;
			free(last);
			if (r > 0)
				r = asprintf(&last, "%s is %s%s%s%s%s", type, status,
					     reason ? ": " : "", strempty(reason), msg ? ": " : "",
					     strempty(msg));
			else
				r = asprintf(&last, "%s is not reported for the current generation",
					     type);
			if (r < 0)
				last = NULL;
		} else if (!last)
			/* a poll cut short by the deadline says less than what was seen before */
			last = message ? strdup(message) : strdup(strerror(-r));

		now = now_usec();
		if (now >= deadline) {
			alga_set_detail(0, reterr_detail, "Timed out after %" PRIu64 " ms waiting for %s on %s: %s.",
				   (now - start) / USEC_PER_MSEC, type, path, strna(last));
			return -ETIMEDOUT;
		}
		sleep_usec(MIN(interval, deadline - now));
		interval = next_interval(interval);
	}
}

int alga_kube_wait_gone(struct alga_kube *kube, const char *path, uint64_t timeout_usec,
			char **reterr_detail)
{
	uint64_t start = now_usec(), deadline = start + timeout_usec,
		 interval = ALGA_KUBE_WAIT_POLL_MIN_USEC;
	_cleanup_free_ char *last = NULL;
	int r;

	if (!kube || !path || timeout_usec == 0)
		return -EINVAL;

	for (;;) {
		_cleanup_(json_object_putp) struct json_object *o = NULL;
		_cleanup_free_ char *message = NULL;
		uint64_t now;

		r = poll_once(kube, path, deadline, &o, &message);
		if (r == -ENOENT)
			return 0;
		if (r == -EBUSY && alga_kube_in_flight(kube) == 0)
			return r;
		if (r < 0 && !is_transient(r)) {
			alga_set_detail(0, reterr_detail, "Waiting for %s to go: %s", path,
				   message ?: strerror(-r));
			return r;
		}
		if (r >= 0) {
			const char *ts = NULL;
			struct json_object *fin = NULL;

			(void)alga_json_get_string(o, "metadata.deletionTimestamp", ALGA_JSON_OPTIONAL,
						   &ts, NULL);
			(void)alga_json_get_array(o, "metadata.finalizers", ALGA_JSON_OPTIONAL, &fin,
						  NULL);
			free(last);
			if (asprintf(&last, "deletionTimestamp %s, finalizers %s", ts ?: "unset",
				     fin ? json_object_to_json_string_ext(fin, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
					 : "none") < 0)
				last = NULL;
		} else if (!last)
			last = message ? strdup(message) : strdup(strerror(-r));

		now = now_usec();
		if (now >= deadline) {
			alga_set_detail(0, reterr_detail, "Timed out after %" PRIu64 " ms waiting for %s to go: %s.",
				   (now - start) / USEC_PER_MSEC, path, strna(last));
			return -ETIMEDOUT;
		}
		sleep_usec(MIN(interval, deadline - now));
		interval = next_interval(interval);
	}
}

int alga_kube_delete_wait(struct alga_kube *kube, const char *path, enum alga_kube_propagation p,
			  uint64_t timeout_usec, char **reterr_detail)
{
	int r;

	r = alga_kube_delete(kube, path, p, 0, NULL, reterr_detail);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return alga_kube_wait_gone(kube, path, timeout_usec, reterr_detail);
}
