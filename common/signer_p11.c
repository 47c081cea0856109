/*
 * signer_p11.c: the PKCS#11 backend, through libp11.
 *
 * What libp11 0.4.12 does, and what we build on it (read from its source, p11_slot.c / p11_load.c, and measured):
 * - Each slot has a pool of sessions (at most 16, opened lazily with C_OpenSession). A private-key operation takes
 *   a session from the pool under a per-slot mutex, releases the mutex, runs C_SignInit/C_Sign, and puts the
 *   session back. So N threads sign in parallel on up to 16 sessions; libp11 holds no lock during C_Sign, and
 *   C_Initialize is called with CKF_OS_LOCKING_OK so the module does its own locking. We add no lock around the
 *   signature itself: our module lock is held only to count operations in flight (two short critical sections).
 * - PKCS11_CTX_unload calls C_Finalize, which ends the module for every context of the process (dlopen shares
 *   the handle). Hence one context per module path, shared by all signers of the process (struct p11_module).
 * - The pool never drops a dead session: once the token has gone (SoftHSM2 answers CKR_OBJECT_HANDLE_INVALID
 *   when its token directory is removed, then CKR_SESSION_HANDLE_INVALID on every pooled session after it is
 *   restored; C_Initialize answers CKR_GENERAL_ERROR while the token directory is missing), the only way back is
 *   a fresh context: C_Finalize, C_Initialize, enumerate, login. That is a "generation" (struct p11_gen).
 * - pkcs11_get_session waits on a condition variable forever when C_OpenSession fails with anything but
 *   CKR_SESSION_COUNT and no session is pooled. Login opens the first session, so the window is between the slot
 *   enumeration and the login of a new generation; SoftHSM2 fails C_Login (not C_OpenSession) when the token goes
 *   away inside it.
 *
 * Reconnection: a failure classified as "token gone" marks the generation broken and the signer down. The next
 * call (at most once per second per signer, and one module reload per second) waits for the operations still in
 * flight on the old generation, frees it, and loads a new one. Callers never hold libp11's EVP_PKEY: they hold the
 * signer's forwarding key (signer.c), so no reference outlives the generation it points into.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "clock.h"
#include "va_limits.h"
#include "log.h"
#include "signer_int.h"

/* PKCS#11 v2.40 return values that mean "the token, session or login is gone", not "bad input". */
#define CKR_GENERAL_ERROR_ 0x05UL
#define CKR_FUNCTION_FAILED_ 0x06UL
#define CKR_SLOT_ID_INVALID_ 0x03UL
#define CKR_DEVICE_ERROR_ 0x30UL
#define CKR_DEVICE_MEMORY_ 0x31UL
#define CKR_DEVICE_REMOVED_ 0x32UL
#define CKR_KEY_HANDLE_INVALID_ 0x60UL
#define CKR_OBJECT_HANDLE_INVALID_ 0x82UL
#define CKR_PIN_INCORRECT_ 0xA0UL
#define CKR_PIN_INVALID_ 0xA1UL
#define CKR_PIN_LEN_RANGE_ 0xA2UL
#define CKR_PIN_EXPIRED_ 0xA3UL
#define CKR_PIN_LOCKED_ 0xA4UL
#define CKR_SESSION_CLOSED_ 0xB0UL
#define CKR_SESSION_COUNT_ 0xB1UL
#define CKR_SESSION_HANDLE_INVALID_ 0xB3UL
#define CKR_TOKEN_NOT_PRESENT_ 0xE0UL
#define CKR_TOKEN_NOT_RECOGNIZED_ 0xE1UL
#define CKR_USER_NOT_LOGGED_IN_ 0x101UL
#define CKR_CRYPTOKI_NOT_INITIALIZED_ 0x190UL

#define P11_RETRY_MS 1000        /* reconnection attempts: at most one per second */
#define P11_RELOAD_BUSY_MS 30000 /* module reloads for a missing token while other signers use the module */
#define P11_LOG_EVERY_MS 60000   /* while down, one failed attempt a minute is logged at warning level */

/* The level of a message about a reconnection attempt: its own, or debug for the repeated attempts. */
static enum log_level lvl(const signer *s, enum log_level normal)
{
	return s == NULL || s->loud ? normal : LOG_LVL_DEBUG;
}

struct p11_gen {
	PKCS11_CTX *ctx;
	PKCS11_SLOT *slots;
	unsigned nslots;
	int inflight; /* operations using a key of this generation */
	int broken;   /* a "token gone" failure was seen: reload before the next use */
};

struct p11_binding {
	struct p11_gen *gen;
	EVP_PKEY *pkey; /* libp11's key; one reference of ours */
};

struct p11_module {
	char path[PATH_MAX];
	pthread_mutex_t lock;
	pthread_cond_t cond;     /* in-flight count reached 0, or a reload finished */
	struct p11_gen *gen;     /* NULL while not loaded */
	int reloading;
	int64_t last_load_ms;    /* 0: never loaded */
	struct signer *signers;  /* attached signers (list through mod_next) */
	int users;
	struct p11_module *next;
};

/* The process's loaded modules: owned by this file. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_module *reg_head;
static atomic_ulong load_count;

unsigned long p11_load_count(void)
{
	return atomic_load(&load_count);
}

/* ---- error classification ---- */

static unsigned long ckr_of(unsigned long e)
{
	if (e == 0 || (int)ERR_GET_LIB(e) != ERR_get_CKR_code())
		return 0;
	return (unsigned long)ERR_GET_REASON(e);
}

/* The PKCS#11 return value on the OpenSSL error queue (libp11 pushes it first; OpenSSL adds its own after). */
static unsigned long ckr_peek(void)
{
	unsigned long r = ckr_of(ERR_peek_error());

	return r ? r : ckr_of(ERR_peek_last_error());
}

static int ckr_is_down(unsigned long r)
{
	switch (r) {
	case CKR_GENERAL_ERROR_:
	case CKR_FUNCTION_FAILED_:
	case CKR_SLOT_ID_INVALID_:
	case CKR_DEVICE_ERROR_:
	case CKR_DEVICE_MEMORY_:
	case CKR_DEVICE_REMOVED_:
	case CKR_KEY_HANDLE_INVALID_:
	case CKR_OBJECT_HANDLE_INVALID_:
	case CKR_PIN_INCORRECT_:
	case CKR_PIN_INVALID_:
	case CKR_PIN_LEN_RANGE_:
	case CKR_PIN_EXPIRED_:
	case CKR_PIN_LOCKED_:
	case CKR_SESSION_CLOSED_:
	case CKR_SESSION_COUNT_:
	case CKR_SESSION_HANDLE_INVALID_:
	case CKR_TOKEN_NOT_PRESENT_:
	case CKR_TOKEN_NOT_RECOGNIZED_:
	case CKR_USER_NOT_LOGGED_IN_:
	case CKR_CRYPTOKI_NOT_INITIALIZED_:
		return 1;
	default:
		return 0;
	}
}

/* ---- RFC 7512 URIs ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes [v, v+n) (RFC 7512 2.3, RFC 3986 2.1). text: the result must be printable (labels). */
static int pct_decode(const char *v, size_t n, uint8_t *out, size_t outmax, size_t *outlen, int text)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)v[i];

		if (c == '%') {
			int h, l;

			if (i + 2 >= n)
				return VA_ERR_INVAL;
			h = hexval((unsigned char)v[i + 1]);
			l = hexval((unsigned char)v[i + 2]);
			if (h < 0 || l < 0)
				return VA_ERR_INVAL;
			c = h * 16 + l;
			i += 2;
		} else if (c <= 0x20 || c >= 0x7f) {
			return VA_ERR_INVAL; /* raw spaces, controls and non-ASCII must be percent-encoded */
		}
		if (text && (c < 0x20 || c == 0x7f))
			return VA_ERR_INVAL;
		if (o + 1 >= outmax)
			return VA_ERR_RANGE;
		out[o++] = (uint8_t)c;
	}
	*outlen = o;
	return VA_OK;
}

int p11_uri_parse(const char *uri, struct p11_uri *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} attrs[] = {
		{ "token", P11_URI_TOKEN }, { "object", P11_URI_OBJECT }, { "id", P11_URI_ID },
		{ "serial", P11_URI_SERIAL }, { "model", P11_URI_MODEL }, { "manufacturer", P11_URI_MANUFACTURER },
		{ "type", P11_URI_TYPE },
	};
	const char *p, *end, *q;
	int rc;

	memset(out, 0, sizeof(*out));
	if (uri == NULL || strncmp(uri, "pkcs11:", 7) != 0) {
		log_err("pkcs11 URI must start with \"pkcs11:\" (RFC 7512 2.3)");
		return VA_ERR_INVAL;
	}
	p = uri + 7;
	q = strchr(p, '?');
	end = q ? q : p + strlen(p);
	/* Query attributes: the PIN only ever comes from pin_file / pin_env, the module from the config. */
	if (q != NULL) {
		if (strstr(q, "pin-value") != NULL || strstr(q, "pin-source") != NULL)
			log_err("pkcs11 URI: the PIN is not allowed in the URI; use pin_file or pin_env");
		else
			log_err("pkcs11 URI: query attributes are not supported (set the module in the config)");
		return VA_ERR_INVAL;
	}
	while (p < end) {
		size_t seg = (size_t)(end - p), nlen, i;
		const char *semi = memchr(p, ';', seg), *eq;
		uint8_t buf[SIGNER_URI_VAL_MAX];
		size_t blen = 0;

		if (semi != NULL)
			seg = (size_t)(semi - p);
		if (seg == 0) {
			p++;
			continue; /* tolerate an empty attribute ("pkcs11:;object=x") */
		}
		eq = memchr(p, '=', seg);
		if (eq == NULL) {
			log_err("pkcs11 URI: attribute without '=': \"%.*s\"", (int)(seg > 64 ? 64 : seg), p);
			return VA_ERR_INVAL;
		}
		nlen = (size_t)(eq - p);
		for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
			if (strlen(attrs[i].name) == nlen && memcmp(attrs[i].name, p, nlen) == 0)
				break;
		if (i == sizeof(attrs) / sizeof(attrs[0])) {
			if (nlen == 9 && memcmp(p, "pin-value", 9) == 0)
				log_err("pkcs11 URI: the PIN is not allowed in the URI; use pin_file or pin_env");
			else
				log_err("pkcs11 URI: attribute \"%.*s\" not supported", (int)(nlen > 64 ? 64 : nlen), p);
			return VA_ERR_INVAL;
		}
		/* RFC 7512 2.3: an attribute MUST NOT appear more than once in a path. */
		if (out->has & attrs[i].bit) {
			log_err("pkcs11 URI: attribute \"%s\" repeated (RFC 7512 2.3)", attrs[i].name);
			return VA_ERR_INVAL;
		}
		out->has |= attrs[i].bit;
		rc = pct_decode(eq + 1, seg - nlen - 1, buf, sizeof(buf), &blen, attrs[i].bit != P11_URI_ID);
		if (rc != VA_OK) {
			log_err("pkcs11 URI: bad value of \"%s\" (percent-encoding, characters or length)",
				attrs[i].name);
			return VA_ERR_INVAL;
		}
		if (blen == 0) {
			log_err("pkcs11 URI: empty value of \"%s\"", attrs[i].name);
			return VA_ERR_INVAL;
		}
		switch (attrs[i].bit) {
		case P11_URI_ID:
			memcpy(out->id, buf, blen);
			out->id_len = blen;
			break;
		case P11_URI_TYPE:
			if (blen != 7 || memcmp(buf, "private", 7) != 0) {
				log_err("pkcs11 URI: type must be \"private\" for a signing key");
				return VA_ERR_INVAL;
			}
			break;
		default: {
			char *dst = attrs[i].bit == P11_URI_TOKEN	 ? out->token
				    : attrs[i].bit == P11_URI_OBJECT	 ? out->object
				    : attrs[i].bit == P11_URI_SERIAL	 ? out->serial
				    : attrs[i].bit == P11_URI_MODEL	 ? out->model
									 : out->manufacturer;
			memcpy(dst, buf, blen);
			dst[blen] = '\0';
			break;
		}
		}
		p += seg;
	}
	if (!(out->has & (P11_URI_OBJECT | P11_URI_ID))) {
		log_err("pkcs11 URI names no key: give object= or id=");
		return VA_ERR_INVAL;
	}
	return VA_OK;
}

/* ---- generations ---- */

static struct p11_gen *gen_load(const char *path, enum log_level level)
{
	struct p11_gen *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	atomic_fetch_add(&load_count, 1);
	g->ctx = PKCS11_CTX_new();
	if (g->ctx == NULL) {
		free(g);
		return NULL;
	}
	if (PKCS11_CTX_load(g->ctx, path) != 0) {
		log_openssl(level, "pkcs11: cannot load/initialise module %s", path);
		PKCS11_CTX_free(g->ctx);
		free(g);
		return NULL;
	}
	if (PKCS11_enumerate_slots(g->ctx, &g->slots, &g->nslots) != 0) {
		log_openssl(level, "pkcs11: cannot list the slots of %s", path);
		PKCS11_CTX_unload(g->ctx);
		PKCS11_CTX_free(g->ctx);
		free(g);
		return NULL;
	}
	return g;
}

static void binding_free(struct p11_binding *b)
{
	if (b == NULL)
		return;
	EVP_PKEY_free(b->pkey);
	free(b);
}

/* Caller holds m->lock and the generation has nothing in flight. */
static void gen_free(struct p11_module *m, struct p11_gen *g)
{
	if (g == NULL)
		return;
	for (struct signer *s = m->signers; s != NULL; s = s->mod_next) {
		if (s->bind != NULL && s->bind->gen == g) {
			binding_free(s->bind);
			s->bind = NULL;
		}
	}
	if (g->slots != NULL)
		PKCS11_release_all_slots(g->ctx, g->slots, g->nslots);
	PKCS11_CTX_unload(g->ctx);
	PKCS11_CTX_free(g->ctx);
	ERR_clear_error();
	free(g);
}

/* Replaces the generation: waits for its operations in flight, frees it (C_Finalize), loads a new one.
 * Caller holds m->lock; it is released while waiting. Other callers wait for the reload to finish. */
static void module_reload_locked(struct p11_module *m, enum log_level level)
{
	struct p11_gen *old = m->gen;

	m->reloading = 1;
	m->gen = NULL;
	if (old != NULL) {
		old->broken = 1;
		while (old->inflight > 0)
			pthread_cond_wait(&m->cond, &m->lock);
		gen_free(m, old);
	}
	m->gen = gen_load(m->path, level);
	m->last_load_ms = clock_mono_ms();
	m->reloading = 0;
	pthread_cond_broadcast(&m->cond);
}

static int str_eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static PKCS11_SLOT *slot_find(struct p11_gen *g, const struct p11_uri *u)
{
	if (g == NULL)
		return NULL;
	for (unsigned i = 0; i < g->nslots; i++) {
		PKCS11_TOKEN *t = g->slots[i].token;

		if (t == NULL || !t->initialized)
			continue;
		if ((u->has & P11_URI_TOKEN) && !str_eq(t->label, u->token))
			continue;
		if ((u->has & P11_URI_SERIAL) && !str_eq(t->serialnr, u->serial))
			continue;
		if ((u->has & P11_URI_MODEL) && !str_eq(t->model, u->model))
			continue;
		if ((u->has & P11_URI_MANUFACTURER) && !str_eq(t->manufacturer, u->manufacturer))
			continue;
		return &g->slots[i];
	}
	return NULL;
}

static int login_locked(signer *s, PKCS11_SLOT *slot)
{
	char pin[LIM_PIN_MAX];
	uint8_t h[32];
	int logged = 0, rc;

	if (PKCS11_is_logged_in(slot, 0, &logged) == 0 && logged)
		return VA_OK;
	rc = signer_pin_read(&s->conf, pin, sizeof(pin));
	if (rc != VA_OK) {
		int e = errno;

		log_msg(lvl(s, LOG_LVL_ERR), "signer %s: cannot read the PIN from %s %s: %s", s->conf.name,
			s->conf.pin_file[0] ? "file" : "variable", s->conf.pin_file[0] ? s->conf.pin_file : s->conf.pin_env,
			rc == VA_ERR_IO ? strerror(e) : rc == VA_ERR_CONFIG ? "not set" : va_strerror(rc));
		return VA_ERR_SIGNER_DOWN;
	}
	/* A PIN the token refused is not tried again (HSMs lock the PIN after a few failures); a new PIN in the
	 * file or the environment is. */
	if (EVP_Digest(pin, strlen(pin), h, NULL, EVP_sha256(), NULL) != 1) {
		OPENSSL_cleanse(pin, sizeof(pin));
		return VA_ERR_CRYPTO;
	}
	if (s->bad_pin_set && CRYPTO_memcmp(h, s->bad_pin_hash, sizeof(h)) == 0) {
		OPENSSL_cleanse(pin, sizeof(pin));
		return VA_ERR_SIGNER_DOWN;
	}
	if (PKCS11_login(slot, 0, pin) != 0) {
		unsigned long r = ckr_peek();

		OPENSSL_cleanse(pin, sizeof(pin));
		if (r == CKR_PIN_INCORRECT_ || r == CKR_PIN_INVALID_ || r == CKR_PIN_LEN_RANGE_ ||
		    r == CKR_PIN_LOCKED_ || r == CKR_PIN_EXPIRED_) {
			memcpy(s->bad_pin_hash, h, sizeof(h));
			s->bad_pin_set = 1;
			log_openssl(lvl(s, LOG_LVL_ERR), "signer %s: login refused; not retried until the PIN changes",
				    s->conf.name);
		} else {
			log_openssl(lvl(s, LOG_LVL_WARN), "signer %s: login failed", s->conf.name);
		}
		return VA_ERR_SIGNER_DOWN;
	}
	OPENSSL_cleanse(pin, sizeof(pin));
	s->bad_pin_set = 0;
	return VA_OK;
}

/* Finds the key on the current generation, checks it against the certificate and records the binding.
 * Caller holds m->lock and m->gen != NULL. */
static int bind_locked(signer *s)
{
	struct p11_gen *g = s->mod->gen;
	PKCS11_SLOT *slot = slot_find(g, &s->uri);
	PKCS11_KEY *keys = NULL, *key = NULL;
	unsigned nkeys = 0;
	EVP_PKEY *pkey = NULL;
	struct p11_binding *b = NULL;
	int rc;

	if (slot == NULL) {
		log_msg(lvl(s, LOG_LVL_WARN), "signer %s: token not present", s->conf.name);
		return VA_ERR_SIGNER_DOWN;
	}
	rc = login_locked(s, slot);
	if (rc != VA_OK)
		return rc;
	if (PKCS11_enumerate_keys(slot->token, &keys, &nkeys) != 0) {
		rc = ckr_is_down(ckr_peek()) ? VA_ERR_SIGNER_DOWN : VA_ERR_CRYPTO;
		log_openssl(lvl(s, LOG_LVL_WARN), "signer %s: cannot list the token's keys", s->conf.name);
		return rc;
	}
	for (unsigned i = 0; i < nkeys; i++) {
		if (!keys[i].isPrivate)
			continue;
		if ((s->uri.has & P11_URI_OBJECT) && !str_eq(keys[i].label, s->uri.object))
			continue;
		if ((s->uri.has & P11_URI_ID) &&
		    (keys[i].id_len != s->uri.id_len || memcmp(keys[i].id, s->uri.id, s->uri.id_len) != 0))
			continue;
		if (key != NULL) {
			log_msg(lvl(s, LOG_LVL_ERR), "signer %s: the URI matches more than one private key", s->conf.name);
			return VA_ERR_SIGNER;
		}
		key = &keys[i];
	}
	if (key == NULL) {
		log_msg(lvl(s, LOG_LVL_ERR), "signer %s: no private key matches %s", s->conf.name, s->conf.uri);
		return VA_ERR_NOTFOUND;
	}
	pkey = PKCS11_get_private_key(key);
	if (pkey == NULL) {
		rc = ckr_is_down(ckr_peek()) ? VA_ERR_SIGNER_DOWN : VA_ERR_SIGNER;
		log_openssl(lvl(s, LOG_LVL_ERR), "signer %s: cannot use the private key", s->conf.name);
		return rc;
	}
	rc = signer_check_match(s, pkey);
	if (rc == VA_ERR_CRYPTO)
		rc = ckr_is_down(ckr_peek()) ? VA_ERR_SIGNER_DOWN : VA_ERR_SIGNER;
	if (rc != VA_OK) {
		log_openssl(lvl(s, LOG_LVL_ERR), "signer %s: %s", s->conf.name,
			    rc == VA_ERR_SIGNER_DOWN ? "test signature failed" : "key does not match the certificate");
		EVP_PKEY_free(pkey);
		return rc;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		EVP_PKEY_free(pkey);
		return VA_ERR_NOMEM;
	}
	b->gen = g;
	b->pkey = pkey;
	s->bind = b;
	return VA_OK;
}

/* 1 if a signer other than s is bound to the current generation (signing with it right now, as far as we know). */
static int others_bound(const struct p11_module *m, const signer *s)
{
	for (const struct signer *o = m->signers; o != NULL; o = o->mod_next)
		if (o != s && o->bind != NULL && o->bind->gen == m->gen)
			return 1;
	return 0;
}

/* Makes s usable: reloads the module if its generation is broken, absent, or lacks the token. m->lock held.
 * Reloads happen at most once per second; when the generation works for other signers and only s's token is
 * missing (a token not plugged in yet, or a wrong token label), at most every P11_RELOAD_BUSY_MS, since a reload
 * makes those signers wait and log in again. */
static int connect_locked(signer *s)
{
	struct p11_module *m = s->mod;
	int64_t now = clock_mono_ms(), since = now - m->last_load_ms;
	int need = m->gen == NULL || m->gen->broken;

	if (!need && slot_find(m->gen, &s->uri) == NULL) {
		if (others_bound(m, s) && since < P11_RELOAD_BUSY_MS) {
			log_debug("signer %s: token not present; module in use, next reload in %lld ms", s->conf.name,
				  (long long)(P11_RELOAD_BUSY_MS - since));
			return VA_ERR_SIGNER_DOWN;
		}
		need = 1;
	}
	if (need) {
		if (m->last_load_ms != 0 && since < P11_RETRY_MS)
			return VA_ERR_SIGNER_DOWN; /* reloaded less than a second ago, by us or another signer */
		module_reload_locked(m, lvl(s, LOG_LVL_WARN));
		if (m->gen == NULL)
			return VA_ERR_SIGNER_DOWN;
	}
	if (s->bind != NULL && s->bind->gen == m->gen)
		return VA_OK;
	binding_free(s->bind);
	s->bind = NULL;
	return bind_locked(s);
}

int p11_attach(signer *s)
{
	struct p11_module *m;
	const char *path = s->conf.module[0] ? s->conf.module : SIGNER_DEFAULT_MODULE;
	int rc;

	if (access(path, R_OK) != 0) {
		log_err("signer %s: PKCS#11 module %s: %s", s->conf.name, path, strerror(errno));
		return VA_ERR_CONFIG;
	}
	pthread_mutex_lock(&reg_lock);
	for (m = reg_head; m != NULL; m = m->next)
		if (strcmp(m->path, path) == 0)
			break;
	if (m == NULL) {
		m = calloc(1, sizeof(*m));
		if (m == NULL) {
			pthread_mutex_unlock(&reg_lock);
			return VA_ERR_NOMEM;
		}
		snprintf(m->path, sizeof(m->path), "%s", path);
		pthread_mutex_init(&m->lock, NULL);
		pthread_cond_init(&m->cond, NULL);
		m->next = reg_head;
		reg_head = m;
	}
	m->users++;
	pthread_mutex_unlock(&reg_lock);

	pthread_mutex_lock(&m->lock);
	while (m->reloading)
		pthread_cond_wait(&m->cond, &m->lock);
	s->mod = m;
	s->mod_next = m->signers;
	m->signers = s;
	s->last_attempt_ms = clock_mono_ms();
	s->last_warn_ms = s->last_attempt_ms;
	s->loud = 1;
	rc = connect_locked(s);
	atomic_store(&s->down, rc != VA_OK);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void p11_detach(signer *s)
{
	struct p11_module *m = s->mod, **pp;
	int last;

	if (m == NULL)
		return;
	pthread_mutex_lock(&reg_lock);
	pthread_mutex_lock(&m->lock);
	while (m->reloading)
		pthread_cond_wait(&m->cond, &m->lock);
	for (struct signer **sp = &m->signers; *sp != NULL; sp = &(*sp)->mod_next) {
		if (*sp == s) {
			*sp = s->mod_next;
			break;
		}
	}
	binding_free(s->bind);
	s->bind = NULL;
	s->mod = NULL;
	last = --m->users == 0;
	if (last) {
		while (m->gen != NULL && m->gen->inflight > 0)
			pthread_cond_wait(&m->cond, &m->lock);
		gen_free(m, m->gen);
		m->gen = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	if (last) {
		for (pp = &reg_head; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == m) {
				*pp = m->next;
				break;
			}
		}
		pthread_mutex_destroy(&m->lock);
		pthread_cond_destroy(&m->cond);
		free(m);
	}
	pthread_mutex_unlock(&reg_lock);
}

EVP_PKEY *p11_acquire(signer *s, int *err)
{
	struct p11_module *m = s->mod;
	EVP_PKEY *k = NULL;
	int rc = VA_OK;

	pthread_mutex_lock(&m->lock);
	while (m->reloading)
		pthread_cond_wait(&m->cond, &m->lock);
	if (s->bind == NULL || m->gen == NULL || s->bind->gen != m->gen || m->gen->broken) {
		int64_t now = clock_mono_ms();
		int was_down = atomic_load(&s->down);

		if (was_down && now - s->last_attempt_ms < P11_RETRY_MS) {
			rc = VA_ERR_SIGNER_DOWN;
			goto out;
		}
		s->last_attempt_ms = now;
		s->loud = !was_down || now - s->last_warn_ms >= P11_LOG_EVERY_MS;
		if (s->loud)
			s->last_warn_ms = now;
		rc = connect_locked(s);
		if (rc != VA_OK) {
			if (!was_down)
				log_warn("signer %s: down (%s)", s->conf.name, va_strerror(rc));
			atomic_store(&s->down, 1);
			/* Anything but a bad argument is "try later" for the callers; the cause was logged. */
			rc = VA_ERR_SIGNER_DOWN;
			goto out;
		}
		if (was_down)
			log_info("signer %s: token back, signing again", s->conf.name);
		atomic_store(&s->down, 0);
	}
	s->bind->gen->inflight++;
	k = s->bind->pkey;
out:
	pthread_mutex_unlock(&m->lock);
	if (err != NULL)
		*err = rc;
	return k;
}

int p11_release(signer *s, EVP_PKEY *key, int failed)
{
	struct p11_module *m = s->mod;
	struct p11_gen *g;
	int rc = VA_OK;

	if (failed)
		rc = ckr_is_down(ckr_peek()) ? VA_ERR_SIGNER_DOWN : VA_ERR_CRYPTO;
	pthread_mutex_lock(&m->lock);
	/* The generation cannot have been freed: its teardown waits for inflight to reach 0. */
	g = s->bind->gen;
	(void)key;
	if (rc == VA_ERR_SIGNER_DOWN) {
		g->broken = 1;
		if (!atomic_exchange(&s->down, 1))
			log_openssl(LOG_LVL_WARN, "signer %s: token lost", s->conf.name);
	}
	if (--g->inflight == 0)
		pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	return rc;
}
