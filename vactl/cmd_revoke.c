/*
 * cmd_revoke.c: `vactl revoke|hold|release LABEL SERIAL|--cert FILE [options]` and `vactl status`.
 *
 * The target is named by serial (hex, "0x" and colons allowed) or by the certificate itself; a certificate must
 * have been issued by LABEL (name, key identifier and signature checked), and a serial LABEL never issued is an
 * error that names the issuer that did, if the store knows one.
 */
#include <getopt.h>
#include <string.h>

#include "index.h"
#include "vactl.h"
#include "vtime.h"
#include "clock.h"

struct target {
	const char *label;
	uint32_t issuer;
	struct store_serial serial;
	char hex[2 * LIM_SERIAL_MAX + 3];
};

/* Resolves LABEL and SERIAL|--cert FILE into the issuer id and serial. The store must be open. */
static int target_resolve(struct vactl *v, struct target *t, const char *serial_arg, const char *cert_path)
{
	X509 *ca = NULL, *cert = NULL;
	const char *why = "";
	int rc;

	rc = vactl_issuer_find(v, t->label, &t->issuer, cert_path != NULL ? &ca : NULL);
	if (rc != VA_OK)
		return rc;
	if (cert_path != NULL) {
		rc = vactl_cert_load(cert_path, &cert);
		if (rc != VA_OK)
			goto out;
		rc = vactl_cert_serial(cert, &t->serial);
		if (rc != VA_OK) {
			vactl_err("%s: serial longer than %d octets", cert_path, LIM_SERIAL_MAX);
			goto out;
		}
		rc = vactl_cert_issued_by(ca, cert, &why);
		if (rc != VA_OK) {
			vactl_err("%s: not issued by '%s': %s", cert_path, t->label, why);
			goto out;
		}
	} else {
		rc = store_serial_from_hex(&t->serial, serial_arg);
		if (rc != VA_OK) {
			vactl_err("bad serial '%s': want hex digits (\"0x\" and colons allowed), at most %d octets",
				  serial_arg, LIM_SERIAL_MAX);
			goto out;
		}
	}
	store_serial_to_hex(&t->serial, t->hex, sizeof(t->hex));
out:
	X509_free(ca);
	X509_free(cert);
	return rc;
}

static void target_not_found(struct vactl *v, const struct target *t)
{
	char other[LIM_ISSUER_LABEL_MAX];

	vactl_serial_elsewhere(v, t->issuer, &t->serial, other, sizeof(other));
	if (other[0] != '\0')
		vactl_err("serial %s was not issued by '%s' (the store has it under '%s')", t->hex, t->label, other);
	else
		vactl_err("serial %s is not in the store for '%s' (import the certificate first)", t->hex, t->label);
}

/* Revocation and invalidity times: not in the future (RFC 5280 5.1.2.6: the date on which the revocation
 * occurred; 5.3.2: the date the key is known or suspected compromised), invalidity not after revocation. */
static int times_check(int64_t when, int has_inv, int64_t inv)
{
	int64_t now = clock_now_sec();

	if (when > now + 60) {
		vactl_err("the revocation time is in the future");
		return VA_ERR_RANGE;
	}
	if (has_inv && inv > when) {
		vactl_err("the invalidity date is after the revocation time");
		return VA_ERR_RANGE;
	}
	return VA_OK;
}

enum change_kind { CHANGE_REVOKE, CHANGE_HOLD, CHANGE_RELEASE };

static int change_run(struct vactl *v, enum change_kind kind, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },       { "reason", required_argument, NULL, 'r' },
		{ "time", required_argument, NULL, 't' },       { "invalidity", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const usage[] = {
		"revoke LABEL SERIAL|--cert FILE [--reason R] [--time T] [--invalidity T]",
		"hold LABEL SERIAL|--cert FILE [--time T]",
		"release LABEL SERIAL|--cert FILE",
	};
	struct target t;
	const char *cert_path = NULL, *reason_arg = NULL, *time_arg = NULL, *inv_arg = NULL, *serial_arg = NULL;
	int64_t when, inv = 0;
	int c, reason = STORE_REASON_UNSPECIFIED, rc;
	char ts[VTIME_STR_MAX];

	memset(&t, 0, sizeof(t));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cert_path = optarg; break;
		case 'r': reason_arg = optarg; break;
		case 't': time_arg = optarg; break;
		case 'i': inv_arg = optarg; break;
		default: return vactl_usage("%s", usage[kind]);
		}
	}
	if (optind >= argc)
		return vactl_usage("%s", usage[kind]);
	t.label = argv[optind++];
	if (optind < argc)
		serial_arg = argv[optind++];
	if (optind != argc || (serial_arg == NULL) == (cert_path == NULL))
		return vactl_usage("%s (one SERIAL or one --cert FILE)", usage[kind]);
	if ((kind != CHANGE_REVOKE && (reason_arg != NULL || inv_arg != NULL)) ||
	    (kind == CHANGE_RELEASE && time_arg != NULL))
		return vactl_usage("%s", usage[kind]);

	if (reason_arg != NULL) {
		reason = store_reason_parse(reason_arg);
		if (reason < 0 || reason == STORE_REASON_REMOVE_FROM_CRL) {
			vactl_err("unknown reason '%s'; one of: unspecified keyCompromise CACompromise "
				  "affiliationChanged superseded cessationOfOperation certificateHold "
				  "privilegeWithdrawn AACompromise (removeFromCRL: use `vactl release`)",
				  reason_arg);
			return VACTL_ERROR;
		}
		/* certificateHold is a hold, which `release` can lift (RFC 5280 5.3.1). */
		if (reason == STORE_REASON_CERTIFICATE_HOLD)
			kind = CHANGE_HOLD;
	}
	when = clock_now_sec();
	if (time_arg != NULL && vtime_parse_cli(time_arg, &when) != VA_OK) {
		vactl_err("bad time '%s': want YYYYMMDDHHMMSSZ or YYYY-MM-DDTHH:MM:SSZ (UTC)", time_arg);
		return VACTL_ERROR;
	}
	if (inv_arg != NULL && vtime_parse_cli(inv_arg, &inv) != VA_OK) {
		vactl_err("bad invalidity date '%s': want YYYYMMDDHHMMSSZ or YYYY-MM-DDTHH:MM:SSZ (UTC)", inv_arg);
		return VACTL_ERROR;
	}
	if (kind == CHANGE_HOLD && inv_arg != NULL) {
		vactl_err("--invalidity does not apply to a hold");
		return VACTL_ERROR;
	}
	if (times_check(when, inv_arg != NULL, inv) != VA_OK)
		return VACTL_ERROR;
	if (vactl_store_open(v, STORE_RDWR) != VA_OK)
		return VACTL_ERROR;
	if (target_resolve(v, &t, serial_arg, cert_path) != VA_OK)
		return VACTL_ERROR;

	switch (kind) {
	case CHANGE_REVOKE: rc = store_cert_revoke(v->st, t.issuer, &t.serial, reason, when, inv); break;
	case CHANGE_HOLD: rc = store_cert_hold(v->st, t.issuer, &t.serial, when); break;
	default: rc = store_cert_release(v->st, t.issuer, &t.serial); break;
	}
	if (vtime_format_iso(when, ts, sizeof(ts)) != VA_OK)
		snprintf(ts, sizeof(ts), "?");
	switch (rc) {
	case VA_OK:
		if (kind == CHANGE_REVOKE)
			vactl_info(v, "revoked %s of '%s': %s at %s", t.hex, t.label, store_reason_name(reason), ts);
		else if (kind == CHANGE_HOLD)
			vactl_info(v, "put %s of '%s' on hold at %s", t.hex, t.label, ts);
		else
			vactl_info(v, "released the hold on %s of '%s'", t.hex, t.label);
		return VACTL_OK;
	case VA_ERR_EXISTS:
		vactl_info(v, "%s of '%s' is already %s: nothing changed", t.hex, t.label,
			   kind == CHANGE_HOLD ? "on hold" : "revoked");
		return VACTL_OK;
	case VA_ERR_NOTFOUND:
		target_not_found(v, &t);
		return VACTL_ERROR;
	case VA_ERR_CONFLICT:
		if (kind == CHANGE_RELEASE)
			vactl_err("%s of '%s' is not on hold: only a hold can be released", t.hex, t.label);
		else if (kind == CHANGE_HOLD)
			vactl_err("%s of '%s' is revoked or already on hold: cannot put it on hold", t.hex, t.label);
		else
			vactl_err("%s of '%s': this change is not allowed from its current state", t.hex, t.label);
		return VACTL_ERROR;
	default:
		vactl_err("%s of '%s': %s", t.hex, t.label, va_strerror(rc));
		return VACTL_ERROR;
	}
}

int cmd_revoke(struct vactl *v, int argc, char **argv)
{
	return change_run(v, CHANGE_REVOKE, argc, argv);
}

int cmd_hold(struct vactl *v, int argc, char **argv)
{
	return change_run(v, CHANGE_HOLD, argc, argv);
}

int cmd_release(struct vactl *v, int argc, char **argv)
{
	return change_run(v, CHANGE_RELEASE, argc, argv);
}

void vactl_cert_print(const char *label, const struct store_serial *s, const struct store_cert_rec *rec)
{
	char hex[2 * LIM_SERIAL_MAX + 3], na[VTIME_STR_MAX] = "-", ra[VTIME_STR_MAX] = "-", ia[VTIME_STR_MAX] = "-";
	int revoked = rec->status != STORE_GOOD;

	store_serial_to_hex(s, hex, sizeof(hex));
	if (rec->not_after != 0 && vtime_format_iso(rec->not_after, na, sizeof(na)) != VA_OK)
		snprintf(na, sizeof(na), "?");
	if (revoked && vtime_format_iso(rec->revoked_at, ra, sizeof(ra)) != VA_OK)
		snprintf(ra, sizeof(ra), "?");
	if (revoked && rec->has_invalidity && vtime_format_iso(rec->invalidity, ia, sizeof(ia)) != VA_OK)
		snprintf(ia, sizeof(ia), "?");
	printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", label, hex, store_status_name(rec->status), na, ra,
	       revoked ? store_reason_name(rec->status == STORE_HOLD ? STORE_REASON_CERTIFICATE_HOLD : rec->reason)
		       : "-",
	       ia);
}

int cmd_status(struct vactl *v, int argc, char **argv)
{
	static const struct option opts[] = { { "cert", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
	struct target t;
	struct store_cert_rec rec;
	const char *cert_path = NULL, *serial_arg = NULL;
	int c, rc;

	memset(&t, 0, sizeof(t));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'c')
			return vactl_usage("status LABEL SERIAL|--cert FILE");
		cert_path = optarg;
	}
	if (optind >= argc)
		return vactl_usage("status LABEL SERIAL|--cert FILE");
	t.label = argv[optind++];
	if (optind < argc)
		serial_arg = argv[optind++];
	if (optind != argc || (serial_arg == NULL) == (cert_path == NULL))
		return vactl_usage("status LABEL SERIAL|--cert FILE");
	if (vactl_store_open(v, STORE_RDONLY) != VA_OK)
		return VACTL_ERROR;
	if (target_resolve(v, &t, serial_arg, cert_path) != VA_OK)
		return VACTL_ERROR;
	rc = store_cert_get(v->st, t.issuer, &t.serial, &rec);
	if (rc == VA_ERR_NOTFOUND) {
		target_not_found(v, &t);
		return VACTL_ERROR;
	}
	if (rc != VA_OK) {
		vactl_err("%s of '%s': %s", t.hex, t.label, va_strerror(rc));
		return VACTL_ERROR;
	}
	vactl_cert_print(t.label, &t.serial, &rec);
	return VACTL_OK;
}
