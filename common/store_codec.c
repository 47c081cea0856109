/*
 * store_codec.c: byte layouts of the store's values. Every value starts with a version byte; a value of the
 * wrong size, version or content is VA_ERR_STORE (a damaged page is an error to report, never an abort).
 *
 * cert value (STORE_CERT_VAL_LEN = 36 octets, integers little-endian):
 *   0 version | 1 status | 2 reason | 3 has_invalidity | 4 not_after (8) | 12 revoked_at (8)
 *   | 20 invalidity (8) | 28 change_seq (8)
 * change value (STORE_CHANGE_FIXED_LEN = 52 octets, then the serial magnitude, then the actor):
 *   0 version | 1 op | 2 issuer_id (4) | 6 when (8) | 14 serial negative | 15 serial len | 16 actor len
 *   | 17 record fields as in the cert value from offset 1 (35 octets) | 52 magnitude | actor (no NUL)
 */
#include <string.h>

#include "store.h"
#include "store_impl.h"

void store_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t store_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void store_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t store_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void store_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t store_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void store_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t store_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static int reason_valid(int r)
{
	return r >= STORE_REASON_UNSPECIFIED && r <= STORE_REASON_AA_COMPROMISE && r != 7;
}

int store_cert_rec_valid(const struct store_cert_rec *rec)
{
	if (rec->has_invalidity > 1)
		return 0;
	switch (rec->status) {
	case STORE_GOOD:
		return rec->reason == 0 && rec->revoked_at == 0 && !rec->has_invalidity && rec->invalidity == 0;
	case STORE_REVOKED:
		return reason_valid(rec->reason) && rec->reason != STORE_REASON_CERTIFICATE_HOLD &&
		       rec->reason != STORE_REASON_REMOVE_FROM_CRL && rec->revoked_at != 0 &&
		       (rec->has_invalidity || rec->invalidity == 0);
	case STORE_HOLD:
		return rec->reason == STORE_REASON_CERTIFICATE_HOLD && rec->revoked_at != 0 &&
		       (rec->has_invalidity || rec->invalidity == 0);
	default:
		return 0;
	}
}

static void rec_fields_encode(const struct store_cert_rec *rec, uint8_t *p)
{
	p[0] = rec->status;
	p[1] = rec->reason;
	p[2] = rec->has_invalidity;
	store_put_le64(p + 3, (uint64_t)rec->not_after);
	store_put_le64(p + 11, (uint64_t)rec->revoked_at);
	store_put_le64(p + 19, (uint64_t)rec->invalidity);
	store_put_le64(p + 27, rec->change_seq);
}

static void rec_fields_decode(const uint8_t *p, struct store_cert_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->status = p[0];
	rec->reason = p[1];
	rec->has_invalidity = p[2];
	rec->not_after = (int64_t)store_get_le64(p + 3);
	rec->revoked_at = (int64_t)store_get_le64(p + 11);
	rec->invalidity = (int64_t)store_get_le64(p + 19);
	rec->change_seq = store_get_le64(p + 27);
}

void store_cert_rec_encode(const struct store_cert_rec *rec, uint8_t *val)
{
	val[0] = STORE_REC_VERSION;
	rec_fields_encode(rec, val + 1);
}

int store_cert_rec_decode(const uint8_t *val, size_t len, struct store_cert_rec *rec)
{
	if (len != STORE_CERT_VAL_LEN || val[0] != STORE_REC_VERSION)
		return VA_ERR_STORE;
	rec_fields_decode(val + 1, rec);
	return store_cert_rec_valid(rec) ? 0 : VA_ERR_STORE;
}

size_t store_change_encode(const struct store_change *ch, uint8_t *buf)
{
	size_t alen = strnlen(ch->actor, LIM_ACTOR_MAX - 1);

	buf[0] = STORE_REC_VERSION;
	buf[1] = ch->op;
	store_put_le32(buf + 2, ch->issuer_id);
	store_put_le64(buf + 6, (uint64_t)ch->when);
	buf[14] = ch->serial.negative;
	buf[15] = ch->serial.len;
	buf[16] = (uint8_t)alen;
	rec_fields_encode(&ch->rec, buf + 17);
	memcpy(buf + STORE_CHANGE_FIXED_LEN, ch->serial.mag, ch->serial.len);
	memcpy(buf + STORE_CHANGE_FIXED_LEN + ch->serial.len, ch->actor, alen);
	return STORE_CHANGE_FIXED_LEN + ch->serial.len + alen;
}

int store_change_decode(uint64_t seq, const uint8_t *val, size_t len, struct store_change *ch)
{
	if (len < STORE_CHANGE_FIXED_LEN || val[0] != STORE_REC_VERSION)
		return VA_ERR_STORE;
	size_t slen = val[15], alen = val[16];
	if (slen > LIM_SERIAL_MAX || alen >= LIM_ACTOR_MAX || val[14] > 1 ||
	    len != STORE_CHANGE_FIXED_LEN + slen + alen ||
	    memchr(val + STORE_CHANGE_FIXED_LEN + slen, '\0', alen) != NULL ||
	    (slen > 0 && val[STORE_CHANGE_FIXED_LEN] == 0) || (val[14] && slen == 0))
		return VA_ERR_STORE; /* the serial must be canonical, the actor text */
	memset(ch, 0, sizeof(*ch));
	ch->seq = seq;
	ch->op = val[1];
	if (ch->op < STORE_OP_ISSUE || ch->op > STORE_OP_ISSUER_ADD)
		return VA_ERR_STORE;
	ch->issuer_id = store_get_le32(val + 2);
	ch->when = (int64_t)store_get_le64(val + 6);
	ch->serial.negative = val[14];
	ch->serial.len = (uint8_t)slen;
	rec_fields_decode(val + 17, &ch->rec);
	memcpy(ch->serial.mag, val + STORE_CHANGE_FIXED_LEN, slen);
	memcpy(ch->actor, val + STORE_CHANGE_FIXED_LEN + slen, alen);
	ch->actor[alen] = '\0';
	if (ch->op != STORE_OP_ISSUER_ADD && !store_cert_rec_valid(&ch->rec))
		return VA_ERR_STORE;
	return 0;
}
