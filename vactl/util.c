/* util.c: messages, opening the store, finding issuers. */
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "vactl.h"

static void vactl_vprint(const char *prefix, const char *fmt, va_list ap)
{
	char text[4096];

	vsnprintf(text, sizeof(text), fmt, ap);
	fprintf(stderr, "vactl: %s%s\n", prefix, text);
}

void vactl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vactl_vprint("error: ", fmt, ap);
	va_end(ap);
}

void vactl_info(const struct vactl *v, const char *fmt, ...)
{
	va_list ap;

	if (v->quiet)
		return;
	va_start(ap, fmt);
	vactl_vprint("", fmt, ap);
	va_end(ap);
}

int vactl_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vactl_vprint("usage: ", fmt, ap);
	va_end(ap);
	fprintf(stderr, "vactl: run `vactl help` for the commands\n");
	return VACTL_USAGE;
}

/* The OS user who runs vactl, recorded in the change log with every change (who, besides what and when).
 * Under sudo the person behind it is named, as "root" alone would not tell who revoked a certificate. */
static void vactl_actor(char *out, size_t outlen)
{
	struct passwd pw, *res = NULL;
	char buf[2048];
	uid_t uid = geteuid();
	const char *sudo = getenv("SUDO_USER");

	if (uid == 0 && sudo != NULL && sudo[0] != '\0')
		snprintf(out, outlen, "sudo:%s", sudo);
	else if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, outlen, "%s", res->pw_name);
	else
		snprintf(out, outlen, "uid:%u", (unsigned)uid);
}

int vactl_store_open(struct vactl *v, int flags)
{
	char actor[LIM_ACTOR_MAX];
	int err = 0;

	v->st = store_open(v->store_path, flags, v->map_size, &err);
	if (v->st == NULL) {
		if (err == VA_OK)
			err = VA_ERR_STORE;
		if (err == VA_ERR_NOTFOUND || (err == VA_ERR_IO && !(flags & STORE_CREATE)))
			vactl_err("cannot open store %s: %s (run `vactl init` first?)", v->store_path,
				  va_strerror(err));
		else
			vactl_err("cannot open store %s: %s", v->store_path, va_strerror(err));
		return err;
	}
	if (flags & STORE_RDWR) {
		vactl_actor(actor, sizeof(actor));
		store_set_actor(v->st, actor);
	}
	return VA_OK;
}

int vactl_issuer_find(struct vactl *v, const char *label, uint32_t *id, X509 **cert)
{
	struct store_issuer iss;
	const unsigned char *p;
	int rc;

	memset(&iss, 0, sizeof(iss));
	rc = store_issuer_get(v->st, label, &iss);
	if (rc == VA_ERR_NOTFOUND) {
		vactl_err("unknown issuer label '%s' (see `vactl ca list`; add it with `vactl ca add`)", label);
		return rc;
	}
	if (rc != VA_OK) {
		vactl_err("issuer '%s': %s", label, va_strerror(rc));
		return rc;
	}
	*id = iss.id;
	if (cert != NULL) {
		p = iss.cert_der;
		*cert = d2i_X509(NULL, &p, (long)iss.cert_len);
		if (*cert == NULL) {
			vactl_err("issuer '%s': stored certificate does not decode", label);
			rc = VA_ERR_CRYPTO;
		}
	}
	free((void *)iss.cert_der);
	return rc;
}

static int issuer_collect(void *arg, const struct store_issuer *iss)
{
	struct vactl_issuers *refs = arg;

	if (refs->n >= LIM_ISSUERS_MAX)
		return 0;
	refs->r[refs->n].id = iss->id;
	snprintf(refs->r[refs->n].label, sizeof(refs->r[refs->n].label), "%s", iss->label);
	refs->n++;
	return 0;
}

int vactl_issuers_collect(struct vactl *v, struct vactl_issuers *out)
{
	int rc;

	out->n = 0;
	rc = store_issuer_foreach(v->st, issuer_collect, out);
	if (rc != VA_OK)
		vactl_err("cannot read the issuers: %s", va_strerror(rc));
	return rc;
}

void vactl_serial_elsewhere(struct vactl *v, uint32_t not_id, const struct store_serial *s, char *out,
			    size_t outlen)
{
	struct vactl_issuers *refs = calloc(1, sizeof(*refs));
	struct store_cert_rec rec;

	out[0] = '\0';
	if (refs == NULL)
		return;
	if (vactl_issuers_collect(v, refs) == VA_OK) {
		for (size_t i = 0; i < refs->n; i++) {
			if (refs->r[i].id == not_id)
				continue;
			if (store_cert_get(v->st, refs->r[i].id, s, &rec) == VA_OK) {
				snprintf(out, outlen, "%s", refs->r[i].label);
				break;
			}
		}
	}
	free(refs);
}
