#include "responder.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ca.h"
#include "clock.h"
#include "log.h"
#include "request.h"
#include "response.h"
#include "signer.h"

struct ca_rt {
	const struct ocspd_ca_conf *conf;
	uint32_t store_id;
	struct ocsp_issuer_hashes h;
	signer *sg;
	X509 *ca;
	uint8_t *rid;
	size_t rid_len;
	uint8_t sig_alg[64];
	size_t sig_alg_len;
	uint8_t *certs;
	size_t certs_len;
	struct ocsp_resp_signer rs;
};

struct ocsp_responder {
	struct ocspd_conf conf;
	store *st;
	const struct ocsp_counters *cnt;
	size_t ncas;
	struct ca_rt *cas;
	ocsp_cache *cache;
	struct ocsp_parse_limits lim;
	uint64_t seen_seq;      /* last change-log entry acted on (tick thread only) */

	pthread_t prefill;
	int prefill_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;               /* under mu */
	int prefill_done;       /* under mu: the pre-production thread is about to return (ocsp_responder_stop) */
};

static void cnt_inc(metrics_counter *c)
{
	if (c != NULL)
		metrics_counter_inc(c);
}

void ocsp_counters_init(struct ocsp_counters *c, metrics *m)
{
	memset(c, 0, sizeof(*c));
	if (m == NULL)
		return;
	c->hits = metrics_counter_new(m, "cache_hits_total", "Answers served from the signed-response cache", NULL);
	c->misses = metrics_counter_new(m, "cache_misses_total", "Cacheable requests that needed a signature", NULL);
	c->signatures = metrics_counter_new(m, "signatures_total", "OCSP responses signed", NULL);
	c->signer_errors = metrics_counter_new(m, "signer_errors_total", "Signatures that failed", NULL);
	c->try_later = metrics_counter_new(m, "try_later_total",
					  "tryLater answers sent (signer down, signatures in flight or queue full)", NULL);
	c->malformed = metrics_counter_new(m, "malformed_total", "malformedRequest answers", NULL);
	c->unauthorized = metrics_counter_new(m, "unauthorized_total", "unauthorized answers", NULL);
	c->entries = metrics_gauge_new(m, "cache_entries", "Signed responses held in the cache", NULL);
}

static int ca_sign(void *arg, const uint8_t *tbs, size_t len, uint8_t *sig, size_t *siglen)
{
	struct ca_rt *ca = arg;

	return signer_sign(ca->sg, EVP_sha256(), tbs, len, sig, siglen);
}

struct issuer_find {
	const char *label;
	uint32_t id;
	int found;
	X509 *cert;
	struct ocsp_issuer_hashes h;
};

static int issuer_find_cb(void *arg, const struct store_issuer *iss)
{
	struct issuer_find *f = arg;
	const unsigned char *p = iss->cert_der;

	if (strcmp(iss->label, f->label) != 0)
		return 0;
	f->found = 1;
	f->id = iss->id;
	memcpy(f->h.name_hash, iss->name_hash, sizeof(f->h.name_hash));
	memcpy(f->h.key_hash, iss->key_hash, sizeof(f->h.key_hash));
	f->cert = d2i_X509(NULL, &p, (long)iss->cert_len);
	return 1;
}

static void ca_rt_clear(struct ca_rt *ca)
{
	signer_free(ca->sg);
	X509_free(ca->ca);
	free(ca->rid);
	free(ca->certs);
	memset(ca, 0, sizeof(*ca));
}

static int ca_rt_init(ocsp_responder *r, const struct ocspd_ca_conf *cc, struct ca_rt *ca)
{
	const struct signer_conf *sc;
	struct issuer_find f = { .label = cc->issuer };
	int rc, delegated = 0, nocheck = 0, n;
	char why[256];
	X509 *cert;
	uint8_t *der = NULL;

	ca->conf = cc;
	if (store_issuer_foreach(r->st, issuer_find_cb, &f) < 0 || !f.found) {
		log_err("ocspd: CA \"%s\" is not in the store (vactl ca add %s FILE)", cc->issuer, cc->issuer);
		X509_free(f.cert);
		return VA_ERR_NOTFOUND;
	}
	if (f.cert == NULL) {
		log_openssl(LOG_LVL_ERR, "ocspd: CA \"%s\": stored certificate does not decode", cc->issuer);
		return VA_ERR_CRYPTO;
	}
	ca->ca = f.cert;
	ca->store_id = f.id;
	ca->h = f.h;
	sc = config_find_signer(r->conf.signers, r->conf.nsigners, cc->signer);
	if (sc == NULL) {
		log_err("ocspd: CA \"%s\": no signer \"%s\"", cc->issuer, cc->signer);
		return VA_ERR_CONFIG;
	}
	ca->sg = signer_open(sc, &rc);
	if (ca->sg == NULL) {
		log_err("ocspd: CA \"%s\": signer \"%s\" cannot be opened: %s", cc->issuer, cc->signer, va_strerror(rc));
		return rc ? rc : VA_ERR_SIGNER;
	}
	cert = signer_cert(ca->sg);
	/* RFC 6960 4.2.2.2: refuse at start a signer that clients would reject. */
	rc = ocsp_ca_check_signer(ca->ca, cert, &delegated, &nocheck, why, sizeof(why));
	if (rc != 0) {
		log_err("ocspd: CA \"%s\": signer \"%s\" refused: %s", cc->issuer, cc->signer, why);
		return rc;
	}
	if (delegated && !nocheck)
		log_warn("ocspd: CA \"%s\": delegated signer \"%s\" lacks id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1); "
			 "clients may try to check its status", cc->issuer, cc->signer);
	rc = ocsp_ca_responder_id(cert, cc->by_key, &ca->rid, &ca->rid_len);
	if (rc != 0)
		return rc;
	n = signer_sig_alg_der(ca->sg, EVP_sha256(), ca->sig_alg, sizeof(ca->sig_alg));
	if (n <= 0) {
		log_err("ocspd: CA \"%s\": signer \"%s\" has no SHA-256 signature algorithm", cc->issuer, cc->signer);
		return n < 0 ? n : VA_ERR_SIGNER;
	}
	ca->sig_alg_len = (size_t)n;
	if (cc->include_cert) {
		n = i2d_X509(cert, &der);
		if (n <= 0)
			return VA_ERR_CRYPTO;
		ca->certs = malloc((size_t)n);
		if (ca->certs == NULL) {
			OPENSSL_free(der);
			return VA_ERR_NOMEM;
		}
		memcpy(ca->certs, der, (size_t)n);
		ca->certs_len = (size_t)n;
		OPENSSL_free(der);
	}
	ca->rs.responder_id = ca->rid;
	ca->rs.responder_id_len = ca->rid_len;
	ca->rs.sig_alg = ca->sig_alg;
	ca->rs.sig_alg_len = ca->sig_alg_len;
	ca->rs.certs = ca->certs;
	ca->rs.certs_len = ca->certs_len;
	ca->rs.max_sig = signer_max_sig_len(ca->sg);
	ca->rs.sign = ca_sign;
	ca->rs.sign_arg = ca;
	log_info("ocspd: serving CA \"%s\" (store id %u) with signer \"%s\" (%s, responder id by %s)", cc->issuer,
		 ca->store_id, cc->signer, delegated ? "delegated" : "the CA itself", cc->by_key ? "key" : "name");
	return 0;
}

/* Fills one SingleResponse from the store (RFC 6960 4.2.1, 4.4.8). */
static int status_fill(ocsp_responder *r, const struct ca_rt *ca, const struct ocsp_certid *id, struct ocsp_single *s)
{
	struct store_cert_rec rec;
	int rc;

	memset(s, 0, sizeof(*s));
	s->certid_der = id->der;
	s->certid_len = id->der_len;
	s->reason = -1;
	rc = store_cert_get(r->st, ca->store_id, &id->serial, &rec);
	if (rc == VA_ERR_NOTFOUND) {
		/* A serial the CA never issued is never "good" (BR 4.9.10). */
		if (r->conf.unknown_serial_revoked) {
			/* RFC 6960 4.4.8: revoked, certificateHold, revocationTime 1970-01-01, extended-revoke extension. */
			s->status = OCSP_CS_REVOKED;
			s->revoked_at = 0;
			s->reason = STORE_REASON_CERTIFICATE_HOLD;
			s->extended_revoke = 1;
		} else {
			s->status = OCSP_CS_UNKNOWN;
		}
		return 0;
	}
	if (rc != 0)
		return rc;
	switch (rec.status) {
	case STORE_GOOD:
		s->status = OCSP_CS_GOOD;
		break;
	case STORE_HOLD:
		s->status = OCSP_CS_REVOKED;
		s->revoked_at = rec.revoked_at;
		s->reason = STORE_REASON_CERTIFICATE_HOLD;
		break;
	case STORE_REVOKED:
		s->status = OCSP_CS_REVOKED;
		s->revoked_at = rec.revoked_at;
		/* RFC 5280 5.3.1: reason unspecified is expressed by leaving the reason out. */
		s->reason = rec.reason == STORE_REASON_UNSPECIFIED ? -1 : rec.reason;
		s->has_invalidity = rec.has_invalidity;
		s->invalidity = rec.invalidity;
		break;
	default:
		return VA_ERR_STORE;
	}
	return 0;
}

static void answer_error(ocsp_responder *r, struct ocsp_answer *a, int status, const char *result)
{
	a->resp_status = status;
	a->entry = NULL;
	a->err_der = ocsp_response_error(status, &a->err_len);
	a->result = result;
	/* tryLater is counted when sent (serve.c): a full deferred queue answers it too, without the responder. */
	if (status == OCSP_MALFORMED_REQUEST)
		cnt_inc(r->cnt->malformed);
	else if (status == OCSP_UNAUTHORIZED)
		cnt_inc(r->cnt->unauthorized);
}

static int issuer_known(ocsp_responder *r, const struct ca_rt *signing, const struct ocsp_certid *id)
{
	return signing != NULL && ocsp_ca_certid_matches(&signing->h, id);
}

/* Builds and signs the answer to n CertIDs. Returns 0 with *e holding one reference, or a va_err. */
static int produce(ocsp_responder *r, struct ca_rt *ca, const struct ocsp_certid *ids, size_t n,
		   const uint8_t *nonce, size_t nonce_len, int64_t now, struct ocsp_cache_entry **e)
{
	struct ocsp_single s[LIM_OCSP_CERTIDS_MAX];
	struct ocsp_resp_times tm = { now, now, now + r->conf.validity };
	uint8_t *der = NULL;
	size_t len = 0;
	int rc;

	*e = NULL;
	for (size_t i = 0; i < n; i++) {
		if (issuer_known(r, ca, &ids[i])) {
			rc = status_fill(r, ca, &ids[i], &s[i]);
			if (rc != 0)
				return rc;
		} else {
			/* Served by this responder only with unknown_issuer = "unknown" (else refused earlier). */
			memset(&s[i], 0, sizeof(s[i]));
			s[i].certid_der = ids[i].der;
			s[i].certid_len = ids[i].der_len;
			s[i].status = OCSP_CS_UNKNOWN;
			s[i].reason = -1;
		}
	}
	rc = ocsp_response_build(&ca->rs, s, n, &tm, nonce, nonce_len, &der, &len);
	if (rc != 0) {
		cnt_inc(r->cnt->signer_errors);
		return rc;
	}
	cnt_inc(r->cnt->signatures);
	*e = ocsp_cache_entry_new(ids[0].der, ids[0].der_len, der, len, tm.this_update, tm.next_update,
				  tm.this_update + r->conf.refresh);
	free(der);
	return *e ? 0 : VA_ERR_NOMEM;
}

static int err_to_status(int rc)
{
	if (rc == VA_ERR_SIGNER_DOWN || rc == VA_ERR_BUSY)
		return OCSP_TRY_LATER;
	return OCSP_INTERNAL_ERROR;
}

/* The cached path: one CertID, no nonce to echo. A hit is one hash lookup; misses for the same CertID share one
 * signature (single flight). */
static int answer_cached(ocsp_responder *r, struct ca_rt *ca, const struct ocsp_certid *id, int64_t now,
			 int64_t fresh_at, struct ocsp_cache_entry **out, int *hit)
{
	int rc = 0;

	*hit = 0;
	for (int attempt = 0; attempt < 3; attempt++) {
		struct ocsp_cache_entry *e = ocsp_cache_get(r->cache, id->der, id->der_len, fresh_at);
		uint64_t epoch;

		if (e != NULL) {
			*out = e;
			*hit = 1;
			return 0;
		}
		/* Past its refresh point but still valid: while one thread signs the replacement, the others keep
		 * serving it instead of queueing behind the signature. */
		e = ocsp_cache_get_valid(r->cache, id->der, id->der_len, now);
		rc = ocsp_cache_flight_begin(r->cache, id->der, id->der_len, e != NULL ? 0 : OCSP_FLIGHT_WAIT_MS);
		if (rc != 1 && e != NULL) {
			*out = e;
			*hit = 1;
			return 0;
		}
		ocsp_cache_entry_put(e);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue; /* someone else signed it: look again */
		e = ocsp_cache_get(r->cache, id->der, id->der_len, fresh_at);
		if (e != NULL) {
			ocsp_cache_flight_end(r->cache, id->der, id->der_len);
			*out = e;
			*hit = 1;
			return 0;
		}
		/* The epoch is read before the status: see cache.h. */
		epoch = ocsp_cache_epoch(r->cache);
		rc = produce(r, ca, id, 1, NULL, 0, now, &e);
		if (rc == 0) {
			ocsp_cache_insert(r->cache, e, epoch);
			if (r->cnt->entries != NULL)
				metrics_gauge_set(r->cnt->entries, (int64_t)ocsp_cache_count(r->cache));
		}
		ocsp_cache_flight_end(r->cache, id->der, id->der_len);
		if (rc != 0) {
			/* Signer down: an answer past its refresh point is still valid until nextUpdate; better than
			 * tryLater. (A dropped entry, as after a status change, is not there to be served.) */
			e = ocsp_cache_get_valid(r->cache, id->der, id->der_len, now);
			if (e != NULL) {
				*out = e;
				*hit = 1;
				return 0;
			}
		}
		*out = e;
		return rc;
	}
	return VA_ERR_BUSY;
}

/* may_sign 0: answer only what needs no signature (a fresh cached answer, or an error) and return 0 without
 * touching a (nor the counters) when a signature would be needed. Returns 1 when a is filled. */
static int answer(ocsp_responder *r, const uint8_t *der, size_t len, int may_sign, struct ocsp_answer *a)
{
	struct ocsp_request req;
	struct ca_rt *ca = NULL;
	struct ocsp_cache_entry *e = NULL;
	int64_t now = clock_now_sec();
	int rc, hit = 0, echo_nonce;

	memset(a, 0, sizeof(*a));
	if (ocsp_request_parse(der, len, &r->lim, &req) != 0) {
		answer_error(r, a, OCSP_MALFORMED_REQUEST, "malformed");
		return 1;
	}
	/* The signing CA is the one of the first CertID we serve. */
	for (size_t i = 0; i < req.ncertids && ca == NULL; i++)
		for (size_t j = 0; j < r->ncas && ca == NULL; j++)
			if (ocsp_ca_certid_matches(&r->cas[j].h, &req.certids[i]))
				ca = &r->cas[j];
	for (size_t i = 0; i < req.ncertids; i++) {
		if (!issuer_known(r, ca, &req.certids[i]) && !r->conf.unknown_issuer_unknown) {
			/* RFC 6960 2.3: unauthorized, the responder is not authoritative for this certificate. */
			answer_error(r, a, OCSP_UNAUTHORIZED, "unauthorized");
			return 1;
		}
	}
	if (ca == NULL)
		ca = &r->cas[0];
	/* nonce_policy decides for every request, whatever its number of CertIDs: "echo" signs the nonce into the
	 * answer (RFC 8954 2.1), "ignore" answers as if the request had none. Decided once, here, so that the
	 * single-CertID (cached) and several-CertID (signed per request) paths cannot disagree. */
	echo_nonce = req.has_nonce && !r->conf.nonce_ignore;
	if (!may_sign) {
		if (req.ncertids != 1 || echo_nonce)
			return 0;
		e = ocsp_cache_get(r->cache, req.certids[0].der, req.certids[0].der_len, now);
		if (e == NULL)
			return 0;
		cnt_inc(r->cnt->hits);
		a->cacheable = 1;
		a->result = "hit";
		a->resp_status = OCSP_SUCCESSFUL;
		a->entry = e;
		return 1;
	}
	if (req.ncertids == 1 && !echo_nonce) {
		rc = answer_cached(r, ca, &req.certids[0], now, now, &e, &hit);
		if (rc != 0) {
			answer_error(r, a, err_to_status(rc), rc == VA_ERR_SIGNER_DOWN ? "signer-down" : "error");
			return 1;
		}
		cnt_inc(hit ? r->cnt->hits : r->cnt->misses);
		a->cacheable = 1;
		a->result = hit ? "hit" : "signed";
	} else {
		/* A nonce to echo or several CertIDs: signed for this request only, within the in-flight bound. */
		rc = ocsp_cache_flight_begin(r->cache, NULL, 0, 0);
		if (rc < 0) {
			answer_error(r, a, OCSP_TRY_LATER, "busy");
			return 1;
		}
		rc = produce(r, ca, req.certids, req.ncertids, echo_nonce ? req.nonce_ext : NULL,
			     echo_nonce ? req.nonce_ext_len : 0, now, &e);
		ocsp_cache_flight_end(r->cache, NULL, 0);
		if (rc != 0) {
			answer_error(r, a, err_to_status(rc), rc == VA_ERR_SIGNER_DOWN ? "signer-down" : "error");
			return 1;
		}
		a->result = "signed";
	}
	a->resp_status = OCSP_SUCCESSFUL;
	a->entry = e;
	return 1;
}

void ocsp_responder_answer(ocsp_responder *r, const uint8_t *der, size_t len, struct ocsp_answer *a)
{
	(void)answer(r, der, len, 1, a);
}

int ocsp_responder_answer_cached(ocsp_responder *r, const uint8_t *der, size_t len, struct ocsp_answer *a)
{
	return answer(r, der, len, 0, a);
}

/* Change log: drop every cached variant (hash algorithm, parameter form) of a changed certificate. */
static int change_cb(void *arg, const struct store_change *ch)
{
	ocsp_responder *r = arg;
	uint8_t key[OCSP_CERTID_MAX];

	r->seen_seq = ch->seq;
	if (ch->op == STORE_OP_ISSUER_ADD) {
		log_info("ocspd: a CA was added to the store; SIGHUP to serve it");
		return 0;
	}
	for (size_t i = 0; i < r->ncas; i++) {
		if (r->cas[i].store_id != ch->issuer_id)
			continue;
		for (int h = 0; h < STORE_HASH_COUNT; h++) {
			for (int np = 0; np < 2; np++) {
				int n = ocsp_certid_build(h, np, r->cas[i].h.name_hash[h], r->cas[i].h.key_hash[h], &ch->serial,
							  key, sizeof(key));

				if (n > 0)
					ocsp_cache_remove(r->cache, key, (size_t)n);
			}
		}
	}
	return 0;
}

void ocsp_responder_tick(ocsp_responder *r)
{
	uint64_t last;

	if (store_changes_last(r->st, &last) != 0 || last <= r->seen_seq)
		return;
	if (last - r->seen_seq > OCSP_CHANGES_BATCH) {
		log_info("ocspd: %llu changes in the store: dropping the response cache",
			 (unsigned long long)(last - r->seen_seq));
		ocsp_cache_clear(r->cache);
		r->seen_seq = last;
	} else if (store_changes_since(r->st, r->seen_seq, OCSP_CHANGES_BATCH, change_cb, r) < 0) {
		/* Could not read the log: drop everything rather than risk serving a stale "good". */
		log_warn("ocspd: change log unreadable: dropping the response cache");
		ocsp_cache_clear(r->cache);
		r->seen_seq = last;
	}
	if (r->cnt->entries != NULL)
		metrics_gauge_set(r->cnt->entries, (int64_t)ocsp_cache_count(r->cache));
	pthread_mutex_lock(&r->mu);
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int ocsp_responder_ready(ocsp_responder *r, char *why, size_t whylen)
{
	if (store_ping(r->st) != 0) {
		snprintf(why, whylen, "store not readable");
		return 1;
	}
	for (size_t i = 0; i < r->ncas; i++) {
		if (!signer_ready(r->cas[i].sg)) {
			snprintf(why, whylen, "signer of CA %s not ready", r->cas[i].conf->issuer);
			return 1;
		}
	}
	return 0;
}

/* Background pre-production: sign the SHA-1 (the common client default) answer of every certificate, so the
 * first request is a hit too; repeated before entries reach their refresh point. Bounded per CA. */
struct serial_list {
	struct store_serial *v;
	size_t n, cap;
};

static int collect_cb(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec)
{
	struct serial_list *l = arg;

	if (l->n >= l->cap)
		return 1;
	l->v[l->n++] = *serial;
	return 0;
}

/* The absolute time (CLOCK_REALTIME, that of r->cv) ms milliseconds from now. */
static struct timespec deadline_in(unsigned ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	return dl;
}

static int prefill_stopped(ocsp_responder *r, unsigned wait_ms)
{
	int stop;

	pthread_mutex_lock(&r->mu);
	if (!r->stop && wait_ms > 0) {
		struct timespec dl = deadline_in(wait_ms);

		pthread_cond_timedwait(&r->cv, &r->mu, &dl);
	}
	stop = r->stop;
	pthread_mutex_unlock(&r->mu);
	return stop;
}

static void prefill_ca(ocsp_responder *r, struct ca_rt *ca, struct serial_list *l)
{
	uint8_t key[OCSP_CERTID_MAX];
	/* Re-sign a little before the refresh point so requests keep hitting. */
	int64_t margin = r->conf.refresh / 4 < 600 ? r->conf.refresh / 4 : 600;

	l->n = 0;
	if (store_cert_foreach(r->st, ca->store_id, 0, collect_cb, l) < 0)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct ocsp_certid one;
		struct ocsp_cache_entry *e;
		int64_t now = clock_now_sec();
		int n, hit, rc;

		if (prefill_stopped(r, 0))
			return;
		n = ocsp_certid_build(STORE_HASH_SHA1, 1, ca->h.name_hash[0], ca->h.key_hash[0], &l->v[i], key,
				      sizeof(key));
		if (n <= 0)
			continue;
		e = ocsp_cache_get(r->cache, key, (size_t)n, now + margin);
		if (e != NULL) {
			ocsp_cache_entry_put(e);
			continue;
		}
		memset(&one, 0, sizeof(one));
		one.der = key;
		one.der_len = (size_t)n;
		one.hash = STORE_HASH_SHA1;
		one.name_hash = ca->h.name_hash[0];
		one.name_hash_len = 20;
		one.key_hash = ca->h.key_hash[0];
		one.key_hash_len = 20;
		one.serial = l->v[i];
		/* An entry close to its refresh point counts as missing, so a fresh one replaces it. */
		rc = answer_cached(r, ca, &one, now, now + margin, &e, &hit);
		ocsp_cache_entry_put(e);
		if (rc == VA_ERR_SIGNER_DOWN || rc == VA_ERR_BUSY) {
			if (prefill_stopped(r, 1000))
				return;
		}
	}
}

static void *prefill_main(void *arg)
{
	ocsp_responder *r = arg;
	struct serial_list l = { 0 };
	unsigned period_ms;
	int64_t p = r->conf.refresh / 8;

	/* Often enough that every entry is re-signed within its refresh margin. */
	if (p < 5)
		p = 5;
	if (p > 3600)
		p = 3600;
	period_ms = (unsigned)p * 1000;
	/* Pre-production uses spare CPU: at nice 19 it yields to the request threads (Linux: per-thread nice), so a
	 * busy responder serves first and signs ahead when it can. Not SCHED_IDLE: a starved thread holding a
	 * single-flight slot would stall requests for that certificate. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) != 0)
		log_debug("ocspd: pre-production thread keeps its priority");
	l.cap = OCSP_PREFILL_MAX;
	l.v = malloc(l.cap * sizeof(*l.v));
	if (l.v == NULL)
		goto out;
	while (!prefill_stopped(r, 0)) {
		for (size_t i = 0; i < r->ncas; i++)
			prefill_ca(r, &r->cas[i], &l);
		if (prefill_stopped(r, period_ms))
			break;
	}
out:
	free(l.v);
	pthread_mutex_lock(&r->mu);
	r->prefill_done = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

void ocsp_responder_stop_request(ocsp_responder *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int ocsp_responder_stop(ocsp_responder *r, unsigned wait_ms)
{
	struct timespec dl = deadline_in(wait_ms);
	int done;

	if (r == NULL || !r->prefill_started)
		return VA_OK;
	ocsp_responder_stop_request(r);
	pthread_mutex_lock(&r->mu);
	while (!r->prefill_done && pthread_cond_timedwait(&r->cv, &r->mu, &dl) != ETIMEDOUT)
		;
	done = r->prefill_done;
	pthread_mutex_unlock(&r->mu);
	if (!done) {
		log_err("ocspd: pre-production still signing when the drain ended (a PKCS#11 call hung in the HSM?)");
		return VA_ERR_BUSY;
	}
	pthread_join(r->prefill, NULL);
	r->prefill_started = 0;
	return VA_OK;
}

ocsp_responder *ocsp_responder_new(const struct ocspd_conf *conf, store *st, const struct ocsp_counters *cnt,
				   int *err)
{
	static const struct ocsp_counters none;
	ocsp_responder *r;
	int rc = 0;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		*err = VA_ERR_NOMEM;
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->conf = *conf;
	r->st = st;
	r->cnt = cnt ? cnt : &none;
	r->lim.max_certids = conf->max_certids;
	r->lim.nonce_min = conf->nonce_min;
	r->lim.nonce_max = conf->nonce_max;
	r->cache = ocsp_cache_new(OCSP_CACHE_ENTRIES_MAX, OCSP_SIGN_INFLIGHT_MAX);
	r->cas = calloc(conf->ncas ? conf->ncas : 1, sizeof(*r->cas));
	if (r->cache == NULL || r->cas == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	/* Changes before this point are already reflected in what we will read. */
	rc = store_changes_last(st, &r->seen_seq);
	if (rc != 0) {
		log_err("ocspd: store change log unreadable: %s", va_strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < conf->ncas; i++) {
		rc = ca_rt_init(r, &r->conf.cas[i], &r->cas[r->ncas]);
		r->ncas++;
		if (rc != 0)
			goto out;
	}
	if (r->ncas == 0) {
		rc = VA_ERR_CONFIG;
		goto out;
	}
	if (pthread_create(&r->prefill, NULL, prefill_main, r) != 0) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	r->prefill_started = 1;
out:
	if (rc != 0) {
		ocsp_responder_free(r);
		r = NULL;
	}
	*err = rc;
	return r;
}

void ocsp_responder_free(ocsp_responder *r)
{
	if (r == NULL)
		return;
	if (r->prefill_started) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->prefill, NULL);
	}
	for (size_t i = 0; i < r->ncas; i++)
		ca_rt_clear(&r->cas[i]);
	free(r->cas);
	ocsp_cache_free(r->cache);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}
