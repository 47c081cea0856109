#!/usr/bin/env bash
# ocspd against GnuTLS ocsptool (--ask, --verify-response) and python3-cryptography's OCSP builder and verifier
# (signature with the responder's key, delegation by the CA, status, reason, revocation time, CertID, validity).
# OCSP_KEYTYPE=rsa|ec selects the PKI's key type (ocsp_clients_ec.sh runs the EC variant).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/ocsp_lib.bash"

ocsp_env "${OCSP_KEYTYPE:-rsa}"
ocsp_start

# GnuTLS: ask with and without nonce, verify against the CA as trust anchor (delegated signer, chain in response).
for s in 1004 1006 1009; do
	ocsptool --ask="$URL" --load-issuer="$PKI/ca1.pem" --load-cert="$PKI/ca1/certs/$s.pem" \
		--load-trust="$PKI/ca1.pem" --outfile="$T/g$s.der" >"$T/g$s.out" 2>&1 || { cat "$T/g$s.out"; fail "ocsptool --ask $s"; }
	expect_grep "Verifying OCSP Response: Success" "$T/g$s.out" "ocsptool --ask $s verifies"
	ocsptool --verify-response --infile="$T/g$s.der" --load-trust="$PKI/ca1.pem" >"$T/v$s.out" 2>&1 ||
		{ cat "$T/v$s.out"; fail "ocsptool -e $s"; }
	expect_grep "Success" "$T/v$s.out" "ocsptool --verify-response $s"
	ocsptool -j --infile="$T/g$s.der" >"$T/j$s.out" 2>&1
	expect_grep "Serial Number: $(echo $s | tr 'A-F' 'a-f')" "$T/j$s.out" "ocsptool: CertID serial $s"
done
expect_grep "Certificate Status: good" "$T/j1004.out" "ocsptool: 1004 good"
expect_grep "Certificate Status: revoked" "$T/j1006.out" "ocsptool: 1006 revoked"
expect_grep "Certificate Status: revoked" "$T/j1009.out" "ocsptool: 1009 (hold) revoked"
ocsptool --ask="$URL" --nonce --load-issuer="$PKI/ca1.pem" --load-cert="$PKI/ca1/certs/1005.pem" \
	--load-trust="$PKI/ca1.pem" >"$T/gn.out" 2>&1 || { cat "$T/gn.out"; fail "ocsptool --nonce"; }
expect_grep "Verifying OCSP Response: Success" "$T/gn.out" "ocsptool with nonce"
# A trust anchor that did not delegate (ca2) must make ocsptool fail: the check can fail.
if ocsptool --verify-response --infile="$T/g1004.der" --load-trust="$PKI/ca2.pem" >"$T/bad.out" 2>&1 &&
	grep -q "Success" "$T/bad.out"; then fail "ocsptool accepted a response against the wrong CA"; fi
ok "ocsptool rejects the answer against another CA"

# python3-cryptography: build requests with every hash, POST them, verify everything.
$PY - "$URL" "$PKI" <<'PYEOF'
import sys, urllib.request, datetime
from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

url, pki = sys.argv[1], sys.argv[2]
load = lambda p: x509.load_pem_x509_certificate(open(p, 'rb').read())
ca = load(pki + '/ca1.pem')
want = {}
for line in open(pki + '/ca1/leaves.tsv').read().splitlines()[1:]:
    serial, name, status, reason = line.split('\t')
    want[serial] = (status, reason)

def verify_sig(signer, resp):
    key = signer.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(resp.signature, resp.tbs_response_bytes, padding.PKCS1v15(), resp.signature_hash_algorithm)
    else:
        key.verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(resp.signature_hash_algorithm))

n = 0
for serial, (status, reason) in want.items():
    leaf = load(f'{pki}/ca1/certs/{serial}.pem')
    for h in (hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512()):
        req = ocsp.OCSPRequestBuilder().add_certificate(leaf, ca, h).build()
        body = req.public_bytes(serialization.Encoding.DER)
        r = urllib.request.urlopen(urllib.request.Request(url + '/', body, {'Content-Type': 'application/ocsp-request'}))
        assert r.headers['Content-Type'] == 'application/ocsp-response'
        resp = ocsp.load_der_ocsp_response(r.read())
        assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL, resp.response_status
        # Delegated signer: issued by the CA, OCSPSigning EKU, signature on the response.
        assert len(resp.certificates) == 1
        signer = resp.certificates[0]
        assert signer.issuer == ca.subject
        ca.public_key().verify(signer.signature, signer.tbs_certificate_bytes, padding.PKCS1v15(),
                               signer.signature_hash_algorithm) if isinstance(ca.public_key(), rsa.RSAPublicKey) else \
            ca.public_key().verify(signer.signature, signer.tbs_certificate_bytes, ec.ECDSA(signer.signature_hash_algorithm))
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.OCSP_SIGNING in eku
        verify_sig(signer, resp)
        # ResponderID byKey = SHA-1 of the signer's key.
        assert resp.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(signer.public_key()).digest
        # CertID echoes the request.
        assert resp.hash_algorithm.name == h.name, (resp.hash_algorithm.name, h.name)
        assert resp.serial_number == leaf.serial_number
        assert resp.issuer_key_hash == req.issuer_key_hash and resp.issuer_name_hash == req.issuer_name_hash
        # Validity window.
        now = datetime.datetime.utcnow()
        assert resp.this_update <= now + datetime.timedelta(seconds=5), resp.this_update
        assert resp.next_update - resp.this_update == datetime.timedelta(seconds=86400)
        assert resp.next_update > now
        if status in ('good', 'expired'):
            assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD, (serial, resp.certificate_status)
        else:
            assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED, (serial, resp.certificate_status)
            assert resp.revocation_time is not None and resp.revocation_time <= now + datetime.timedelta(seconds=5)
            if status == 'hold':
                assert resp.revocation_reason == x509.ReasonFlags.certificate_hold
            elif reason in ('-', 'unspecified'):
                assert resp.revocation_reason is None, resp.revocation_reason
            else:
                assert resp.revocation_reason is not None
                camel = resp.revocation_reason.value  # e.g. keyCompromise
                assert camel.lower() == reason.lower(), (camel, reason)
        n += 1
# Nonce: echoed exactly.
leaf = load(f'{pki}/ca1/certs/1004.pem')
nonce = bytes(range(1, 17))
req = ocsp.OCSPRequestBuilder().add_certificate(leaf, ca, hashes.SHA256()).add_extension(
    x509.OCSPNonce(nonce), critical=False).build()
r = urllib.request.urlopen(urllib.request.Request(url + '/', req.public_bytes(serialization.Encoding.DER),
                                                  {'Content-Type': 'application/ocsp-request'}))
resp = ocsp.load_der_ocsp_response(r.read())
assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
# Wrong trust: verifying with another key must fail.
other = load(pki + '/ocsp2.pem')
try:
    verify_sig(other, resp)
    raise SystemExit('signature verified with the wrong key')
except SystemExit:
    raise
except Exception:
    pass
print(f'python3-cryptography: {n} answers verified (4 hashes x {len(want)} leaves), nonce echoed')
PYEOF
ok "python3-cryptography builder and verifier"
done_ok
