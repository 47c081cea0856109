/*
 * gen.c: one CRL scope's publications: number reservation, build from the store, verification, atomic rename,
 * state update. A failure at any step leaves the published files as they were.
 */
#include "crlgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "log.h"

int crl_job_init(struct crl_job *j, store *st, const struct crl_conf *cc, signer *sg)
{
	struct store_issuer iss;
	const unsigned char *p;
	X509 *ca = NULL;
	unsigned char *nd = NULL;
	int rc, len;

	memset(j, 0, sizeof(*j));
	j->cc = cc;
	j->sg = sg;
	rc = store_issuer_get(st, cc->issuer, &iss);
	if (rc != 0) {
		log_err("crlgen: %s: issuer '%s' not in the store: %s", cc->name, cc->issuer, va_strerror(rc));
		return rc;
	}
	j->issuer_id = iss.id;
	p = iss.cert_der;
	ca = d2i_X509(NULL, &p, (long)iss.cert_len);
	free((void *)iss.cert_der);
	if (ca == NULL) {
		log_openssl(LOG_LVL_ERR, "crlgen: %s: issuer certificate unreadable", cc->name);
		return VA_ERR_CRYPTO;
	}
	/* RFC 5280 5.1.2.3: the CRL issuer is the CA; its key must be the one the signer holds (no indirect CRLs). */
	j->pub = X509_get_pubkey(ca);
	if (j->pub == NULL || signer_cert(sg) == NULL || X509_get0_pubkey(signer_cert(sg)) == NULL ||
	    EVP_PKEY_eq(j->pub, X509_get0_pubkey(signer_cert(sg))) != 1) {
		log_err("crlgen: %s: signer '%s' does not hold the key of issuer '%s'", cc->name, signer_name(sg),
			cc->issuer);
		rc = VA_ERR_CONFIG;
		goto out;
	}
	len = i2d_X509_NAME(X509_get_subject_name(ca), &nd);
	if (len <= 0) {
		rc = VA_ERR_CRYPTO;
		goto out;
	}
	j->name_der = nd;
	j->name_len = (size_t)len;
	/* RFC 5280 5.2.1: the keyIdentifier of the CA's subjectKeyIdentifier, else computed as in 4.2.1.2 (1). */
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	if (ski != NULL && ASN1_STRING_length(ski) > 0 && (size_t)ASN1_STRING_length(ski) <= sizeof(j->akid)) {
		j->akid_len = (size_t)ASN1_STRING_length(ski);
		memcpy(j->akid, ASN1_STRING_get0_data(ski), j->akid_len);
	} else {
		unsigned int dl = 0;
		if (X509_pubkey_digest(ca, EVP_sha1(), j->akid, &dl) != 1) {
			rc = VA_ERR_CRYPTO;
			goto out;
		}
		j->akid_len = dl;
	}
	rc = crl_state_load(st, cc->name, &j->state);
	if (rc == 0)
		j->scanned_seq = j->state.published_seq;
out:
	X509_free(ca);
	if (rc != 0)
		crl_job_clear(j);
	return rc;
}

void crl_job_clear(struct crl_job *j)
{
	if (j == NULL)
		return;
	OPENSSL_free(j->name_der);
	EVP_PKEY_free(j->pub);
	j->name_der = NULL;
	j->pub = NULL;
}

/* Full CRL source: the issuer's revoked and held certificates straight from one store read transaction (the
 * store's revoked index, in serial order); for a partition, only its serial range. */
struct full_src {
	store *st;
	uint32_t issuer;
	int64_t cutoff; /* INT64_MIN: keep expired entries forever */
	const struct crl_range *range;
	crl_emit_fn emit;
	void *ctx;
	uint64_t walked;
};

static int full_rec(void *arg, const struct store_serial *serial, const struct store_cert_rec *rec)
{
	struct full_src *f = arg;
	struct crl_entry e;

	if (++f->walked % CRLGEN_TRIM_EVERY == 0)
		(void)store_map_trim(f->st);
	if (f->cutoff != INT64_MIN && rec->not_after != 0 && rec->not_after < f->cutoff)
		return 0;
	e.serial = *serial;
	e.revoked_at = rec->revoked_at;
	e.invalidity = rec->has_invalidity ? rec->invalidity : 0;
	if (rec->status == STORE_HOLD)
		e.reason = STORE_REASON_CERTIFICATE_HOLD;
	else if (rec->reason == STORE_REASON_UNSPECIFIED || rec->reason == 7 || rec->reason > STORE_REASON_AA_COMPROMISE ||
		 rec->reason == STORE_REASON_CERTIFICATE_HOLD || rec->reason == STORE_REASON_REMOVE_FROM_CRL)
		e.reason = -1; /* RFC 5280 5.3.1: reason unspecified SHOULD be absent */
	else
		e.reason = rec->reason;
	return f->emit(f->ctx, &e);
}

static int full_source(void *arg, crl_emit_fn emit, void *ctx)
{
	struct full_src *f = arg;
	int rc;

	f->emit = emit;
	f->ctx = ctx;
	f->walked = 0;
	/* Through the revoked index: the cost follows the revoked certificates, not every issued one; a partition
	 * reads only its range of it (the walk seeks to serial_from and stops at serial_to, both taken in numeric
	 * order as crl_range_has takes them; a partition without serial_from starts at zero, and so leaves the
	 * negative serials out, as crl_range_has does). */
	const struct crl_range *r = f->range;
	rc = store_revoked_foreach_range(f->st, f->issuer, r->on ? &r->from : NULL, r->on && r->has_to ? &r->to : NULL,
					 full_rec, f);
	(void)store_map_trim(f->st);
	return rc;
}

/* Builds into a temporary file, verifies, renames. Retries when the store changed between the two passes. */
static int publish_one(struct crl_job *j, const char *dir, const char *fname, const struct crl_params *p,
		       crl_source_fn src, void *src_arg, struct crl_result *res)
{
	struct crl_sign_ops ops;
	struct crl_info info;
	char tmp[PATH_MAX];
	int fd = -1, rc;

	if ((rc = crl_sign_ops_signer(&ops, j->sg)) != 0) {
		log_err("crlgen: %s: signer '%s' unusable: %s", j->cc->name, signer_name(j->sg), va_strerror(rc));
		return rc;
	}
	fd = crl_tmp_open(dir, fname, tmp, sizeof(tmp));
	if (fd < 0) {
		log_err("crlgen: %s: cannot create a file in %s: %s", j->cc->name, dir, strerror(errno));
		return fd;
	}
	for (int attempt = 0;; attempt++) {
		rc = crl_build(p, src, src_arg, &ops, fd, res);
		if (rc != VA_ERR_CONFLICT || attempt + 1 >= CRLGEN_BUILD_RETRIES)
			break;
		log_info("crlgen: %s: store changed during the build, again", fname);
		if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
			rc = VA_ERR_IO;
			break;
		}
	}
	if (rc != 0) {
		log_err("crlgen: %s: build failed: %s%s%s", fname, va_strerror(rc), rc == VA_ERR_IO ? ": " : "",
			rc == VA_ERR_IO ? strerror(errno) : "");
		goto fail;
	}
	/* Verified from the file itself before it may replace the published one. */
	rc = crl_verify_fd(fd, j->pub, j->name_der, j->name_len, &info);
	if (rc == 0 && (info.number != p->number || info.entries != res->entries || info.is_delta != p->is_delta ||
			(p->is_delta && info.base_number != p->base_number) || info.file_len != res->file_len ||
			info.this_update != p->this_update || info.next_update != p->next_update))
		rc = VA_ERR_INVAL;
	if (rc != 0) {
		log_err("crlgen: %s: verification before publication failed: %s", fname, va_strerror(rc));
		goto fail;
	}
	rc = crl_tmp_commit(dir, fname, tmp, fd);
	fd = -1;
	if (rc != 0) {
		log_err("crlgen: %s: publication in %s failed: %s", fname, dir, strerror(errno));
		return rc;
	}
	return 0;
fail:
	crl_tmp_abort(tmp, fd);
	return rc;
}

static void params_init(struct crl_job *j, struct crl_params *p, uint64_t number, int64_t now, int64_t validity)
{
	memset(p, 0, sizeof(*p));
	p->issuer_name = j->name_der;
	p->issuer_name_len = j->name_len;
	p->akid = j->akid;
	p->akid_len = j->akid_len;
	p->this_update = now;
	p->next_update = now + validity;
	p->number = number;
	p->idp_uri = j->cc->idp[0] ? j->cc->idp : NULL;
	p->freshest_uri = j->cc->freshest[0] ? j->cc->freshest : NULL;
}

static int64_t cutoff_at(const struct crl_job *j, int64_t now)
{
	return j->cc->retention < 0 ? INT64_MIN : now - j->cc->retention;
}

static int counter_next(struct crl_job *j, store *st, uint64_t *number)
{
	char key[CRL_NAME_MAX + 16];

	/* RFC 5280 5.2.3: monotonically increasing; full and delta CRLs share one sequence. Durable before use. */
	snprintf(key, sizeof(key), "crlnumber/%s", j->cc->name);
	return store_counter_reserve(st, key, 1, number);
}

static int delta_write(struct crl_job *j, store *st, const char *dir, uint64_t number, uint64_t base,
		       uint64_t base_seq, uint64_t upto, int64_t now)
{
	struct crl_params p;
	struct crl_array arr;
	struct crl_result res;
	struct crl_entry *ents = NULL;
	size_t n = 0;
	char fname[CRL_NAME_MAX + 16];
	int rc;

	rc = crl_delta_collect(st, j->issuer_id, &j->cc->range, base_seq, upto, cutoff_at(j, now), &ents, &n);
	if (rc != 0) {
		log_err("crlgen: %s: delta changes: %s", j->cc->name, va_strerror(rc));
		return rc;
	}
	params_init(j, &p, number, now, j->cc->delta_validity);
	p.is_delta = 1;
	p.base_number = base;
	arr.e = ents;
	arr.n = n;
	snprintf(fname, sizeof(fname), "%s-delta.crl", j->cc->name);
	rc = publish_one(j, dir, fname, &p, crl_array_source, &arr, &res);
	free(ents);
	if (rc == 0)
		log_info("crlgen: published %s/%s: delta CRL %llu on base %llu, %llu entries", dir, fname,
			 (unsigned long long)number, (unsigned long long)base, (unsigned long long)res.entries);
	return rc;
}

int crl_job_full(struct crl_job *j, store *st, const char *dir)
{
	struct crl_params p;
	struct crl_result res;
	struct full_src fs = { .st = st, .issuer = j->issuer_id, .range = &j->cc->range };
	struct crl_state ns = j->state;
	uint64_t seq0, number;
	int64_t now = clock_now_sec();
	char fname[CRL_NAME_MAX + 8];
	int rc;

	/* The change-log position is read before the walk: the CRL reflects at least everything up to it. */
	if ((rc = store_changes_last(st, &seq0)) != 0 || (rc = counter_next(j, st, &number)) != 0) {
		log_err("crlgen: %s: store: %s", j->cc->name, va_strerror(rc));
		return rc;
	}
	fs.cutoff = cutoff_at(j, now);
	params_init(j, &p, number, now, j->cc->validity);
	snprintf(fname, sizeof(fname), "%s.crl", j->cc->name);
	if ((rc = publish_one(j, dir, fname, &p, full_source, &fs, &res)) != 0)
		return rc;
	log_info("crlgen: published %s/%s: CRL %llu, %llu entries, %llu octets", dir, fname,
		 (unsigned long long)number, (unsigned long long)res.entries, (unsigned long long)res.file_len);
	ns.prev_number = j->state.full_number;
	ns.prev_seq = j->state.full_seq;
	ns.full_number = number;
	ns.full_seq = seq0;
	ns.full_this = p.this_update;
	ns.full_next = p.next_update;
	ns.published_seq = seq0;
	/* RFC 5280 5.2.4: a delta issued with the full CRL carries the same number; its base is the previous full
	 * CRL, so relying parties holding that one catch up. The first full CRL has no base yet. */
	if (j->cc->delta && ns.prev_number != 0) {
		if (delta_write(j, st, dir, number, ns.prev_number, ns.prev_seq, seq0, now) == 0)
			ns.delta_number = number;
		else
			log_warn("crlgen: %s: full CRL %llu published without its delta", j->cc->name,
				 (unsigned long long)number);
	}
	j->state = ns;
	j->scanned_seq = seq0 > j->scanned_seq ? seq0 : j->scanned_seq;
	if ((rc = crl_state_save(st, j->cc->name, &ns)) != 0)
		log_err("crlgen: %s: saving the publication state: %s", j->cc->name, va_strerror(rc));
	return rc;
}

int crl_job_delta(struct crl_job *j, store *st, const char *dir)
{
	uint64_t seq, number;
	int64_t now = clock_now_sec();
	int rc;

	if (!j->cc->delta || j->state.full_number == 0)
		return crl_job_full(j, st, dir);
	if ((rc = store_changes_last(st, &seq)) != 0 || (rc = counter_next(j, st, &number)) != 0) {
		log_err("crlgen: %s: store: %s", j->cc->name, va_strerror(rc));
		return rc;
	}
	rc = delta_write(j, st, dir, number, j->state.full_number, j->state.full_seq, seq, now);
	if (rc != 0)
		return rc;
	j->state.delta_number = number;
	j->state.published_seq = seq;
	j->scanned_seq = seq > j->scanned_seq ? seq : j->scanned_seq;
	rc = crl_state_save(st, j->cc->name, &j->state);
	if (rc != 0)
		log_err("crlgen: %s: saving the publication state: %s", j->cc->name, va_strerror(rc));
	return rc;
}

struct changed_scan {
	uint32_t issuer;
	const struct crl_range *range;
	uint64_t last;
	int found;
};

static int changed_fn(void *arg, const struct store_change *ch)
{
	struct changed_scan *c = arg;

	c->last = ch->seq;
	if (ch->issuer_id == c->issuer && ch->op != STORE_OP_ISSUER_ADD && crl_range_has(c->range, &ch->serial)) {
		c->found = 1;
		return 1;
	}
	return 0;
}

int crl_job_changed(struct crl_job *j, store *st, int *changed)
{
	struct changed_scan c = { .issuer = j->issuer_id, .range = &j->cc->range };
	uint64_t last;
	int rc;

	*changed = 0;
	if ((rc = store_changes_last(st, &last)) != 0)
		return rc;
	if (last <= j->scanned_seq)
		return 0;
	/* Bounded scan per tick; the rest is looked at on the next one. */
	c.last = j->scanned_seq;
	rc = store_changes_since(st, j->scanned_seq, 100000, changed_fn, &c);
	if (rc < 0)
		return rc;
	if (c.found) {
		*changed = 1;
		return 0;
	}
	j->scanned_seq = c.last;
	return 0;
}
