/*
 * delta.c: delta CRL entries from the store's change log (RFC 5280 5.2.4), and the publication state kept in
 * the store so that numbering and the delta's base survive restarts.
 *
 * A delta lists every certificate whose status changed since the base CRL: its current revocation, or, for a
 * released hold, removeFromCRL (RFC 5280 5.3.1). Memory is proportional to the changes since the base, never
 * to the full CRL, so its cost does not grow with the number of revoked certificates.
 */
#include "crlgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct dchange {
	struct store_serial serial;
	uint64_t seq;
	int64_t when;
	struct store_cert_rec rec;
	int touched_hold; /* a hold or release since the base */
};

struct collect {
	uint32_t issuer;
	const struct crl_range *range;
	uint64_t upto;
	struct dchange *v;
	size_t n, cap;
	int full;
};

static int collect_fn(void *arg, const struct store_change *ch)
{
	struct collect *c = arg;

	if (ch->seq > c->upto)
		return 1; /* past the snapshot this publication describes */
	if (ch->issuer_id != c->issuer || ch->op == STORE_OP_ISSUER_ADD || !crl_range_has(c->range, &ch->serial))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		if (c->n >= CRLGEN_DELTA_CHANGES_MAX) {
			c->full = 1;
			return 1;
		}
		struct dchange *nv = realloc(c->v, cap * sizeof(*nv));
		if (nv == NULL)
			return VA_ERR_NOMEM;
		c->v = nv;
		c->cap = cap;
	}
	struct dchange *d = &c->v[c->n++];
	d->serial = ch->serial;
	d->seq = ch->seq;
	d->when = ch->when;
	d->rec = ch->rec;
	d->touched_hold = ch->op == STORE_OP_HOLD || ch->op == STORE_OP_RELEASE;
	return 0;
}

int crl_serial_cmp(const struct store_serial *a, const struct store_serial *b)
{
	if (a->len == 0 && b->len == 0)
		return 0;
	if (a->negative != b->negative)
		return a->negative ? -1 : 1;
	int sign = a->negative ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -sign : sign;
	int m = memcmp(a->mag, b->mag, a->len);
	return m < 0 ? -sign : (m > 0 ? sign : 0);
}

int crl_range_has(const struct crl_range *r, const struct store_serial *s)
{
	if (r == NULL || !r->on)
		return 1;
	if (crl_serial_cmp(s, &r->from) < 0)
		return 0;
	return !r->has_to || crl_serial_cmp(s, &r->to) < 0;
}

int crl_range_same(const struct crl_range *a, const struct crl_range *b)
{
	if (!a->on || !b->on)
		return a->on == b->on;
	return crl_serial_cmp(&a->from, &b->from) == 0 && a->has_to == b->has_to &&
	       (!a->has_to || crl_serial_cmp(&a->to, &b->to) == 0);
}

/* Serial order, then change order. */
static int dchange_cmp(const void *x, const void *y)
{
	const struct dchange *a = x, *b = y;
	int c = crl_serial_cmp(&a->serial, &b->serial);

	if (c != 0)
		return c;
	return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

int crl_delta_collect(store *st, uint32_t issuer, const struct crl_range *range, uint64_t after, uint64_t upto,
		      int64_t retention_cutoff, struct crl_entry **out, size_t *n)
{
	struct collect c = { .issuer = issuer, .range = range, .upto = upto };
	struct crl_entry *ents = NULL;
	size_t ne = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = store_changes_since(st, after, 0, collect_fn, &c);
	if (rc < 0)
		goto out;
	if (c.full) {
		rc = VA_ERR_BUSY;
		goto out;
	}
	rc = 0;
	if (c.n == 0)
		goto out;
	qsort(c.v, c.n, sizeof(*c.v), dchange_cmp);
	ents = calloc(c.n, sizeof(*ents));
	if (ents == NULL) {
		rc = VA_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < c.n;) {
		/* The run of changes of one serial: the last gives the state, any hold/release in it matters. */
		size_t j = i;
		int hold = 0;
		while (j < c.n && crl_serial_cmp(&c.v[j].serial, &c.v[i].serial) == 0)
			hold |= c.v[j++].touched_hold;
		const struct dchange *last = &c.v[j - 1];
		struct crl_entry *e = &ents[ne];
		i = j;
		e->serial = last->serial;
		if (last->rec.status == STORE_GOOD) {
			if (!hold)
				continue; /* issued, never listed */
			e->revoked_at = last->when;
			e->reason = STORE_REASON_REMOVE_FROM_CRL;
			e->invalidity = 0;
			ne++;
			continue;
		}
		if (retention_cutoff != INT64_MIN && last->rec.not_after != 0 && last->rec.not_after < retention_cutoff)
			continue;
		e->revoked_at = last->rec.revoked_at;
		if (last->rec.status == STORE_HOLD)
			e->reason = STORE_REASON_CERTIFICATE_HOLD;
		else if (last->rec.reason == STORE_REASON_UNSPECIFIED || last->rec.reason == 7 ||
			 last->rec.reason > STORE_REASON_AA_COMPROMISE ||
			 last->rec.reason == STORE_REASON_REMOVE_FROM_CRL ||
			 last->rec.reason == STORE_REASON_CERTIFICATE_HOLD)
			e->reason = -1; /* RFC 5280 5.3.1: unspecified SHOULD be left out */
		else
			e->reason = last->rec.reason;
		e->invalidity = last->rec.has_invalidity ? last->rec.invalidity : 0;
		ne++;
	}
	*out = ents;
	*n = ne;
	ents = NULL;
out:
	free(ents);
	free(c.v);
	return rc;
}

int crl_array_source(void *arg, crl_emit_fn emit, void *ctx)
{
	const struct crl_array *a = arg;
	int rc;

	for (size_t i = 0; i < a->n; i++)
		if ((rc = emit(ctx, &a->e[i])) != 0)
			return rc;
	return 0;
}

/* State encoding: version octet, then the fields as 8-octet big-endian values, in struct order. */
#define STATE_VERSION 1
#define STATE_FIELDS 8
#define STATE_LEN (1 + 8 * STATE_FIELDS)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void state_key(const char *name, char *key, size_t len)
{
	snprintf(key, len, "crlgen/%s", name);
}

int crl_state_save(store *st, const char *name, const struct crl_state *s)
{
	uint8_t b[STATE_LEN];
	char key[CRL_NAME_MAX + 16];
	uint64_t f[STATE_FIELDS] = { s->full_number, s->full_seq, (uint64_t)s->full_this, (uint64_t)s->full_next,
				     s->prev_number, s->prev_seq, s->delta_number, s->published_seq };

	b[0] = STATE_VERSION;
	for (int i = 0; i < STATE_FIELDS; i++)
		put64(b + 1 + 8 * i, f[i]);
	state_key(name, key, sizeof(key));
	return store_meta_put(st, key, b, sizeof(b));
}

int crl_state_load(store *st, const char *name, struct crl_state *s)
{
	uint8_t b[STATE_LEN];
	size_t len = sizeof(b);
	char key[CRL_NAME_MAX + 16];
	int rc;

	memset(s, 0, sizeof(*s));
	state_key(name, key, sizeof(key));
	rc = store_meta_get(st, key, b, &len);
	if (rc == VA_ERR_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (len != STATE_LEN || b[0] != STATE_VERSION) {
		log_err("crlgen: publication state of %s in the store is damaged (%zu octets)", name, len);
		return VA_ERR_STORE;
	}
	s->full_number = get64(b + 1);
	s->full_seq = get64(b + 9);
	s->full_this = (int64_t)get64(b + 17);
	s->full_next = (int64_t)get64(b + 25);
	s->prev_number = get64(b + 33);
	s->prev_seq = get64(b + 41);
	s->delta_number = get64(b + 49);
	s->published_seq = get64(b + 57);
	return 0;
}
