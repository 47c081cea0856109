#!/usr/bin/env bash
# tsad against python3-rfc3161ng (RemoteTimestamper: request, signature check with the TSA certificate, nonce and
# imprint checks) for SHA-256/384/512 with and without certReq, genTime within the declared accuracy of the local
# clock at millisecond precision, and a rejection decoded by the same library.
. "$VA_TOP/tests/lib.sh"
. "$VA_TOP/tests/integration/tsa_lib.bash"

tsa_setup rsa   # rfc3161ng checks PKCS#1 v1.5 signatures only
port=$(free_port)
url="http://127.0.0.1:$port/"
tsa_conf "$PKI/tsa.conf" "$port" 'accuracy_ms = 1000;'
tsa_start tsad "$PKI/tsa.conf" "$port"
wait_http "${url}readyz"

$PY - "$url" "$PKI/tsa.pem" "$TSA_POLICY" "$TSA_POLICY2" <<'PYEOF' || fail "rfc3161ng client"
import datetime, os, sys
import rfc3161ng
from pyasn1.codec.der import decoder

url, certfile, policy, policy2 = sys.argv[1:5]
cert = open(certfile, 'rb').read()
serials = set()
for hashname in ('sha256', 'sha384', 'sha512'):
    for include in (True, False):
        ts = rfc3161ng.RemoteTimestamper(url, certificate=cert, hashname=hashname, include_tsa_certificate=include)
        data = os.urandom(5000)
        nonce = int.from_bytes(os.urandom(8), 'big')
        before = datetime.datetime.utcnow()
        tsr = ts(data=data, nonce=nonce, return_tsr=True)   # raises if the signature, nonce or imprint is wrong
        after = datetime.datetime.utcnow()
        assert int(tsr['status']['status']) == 0, tsr['status']
        tst = tsr.time_stamp_token
        assert ts.check(tst, data=data, nonce=nonce)
        info = tst.tst_info
        assert str(info['policy']) == policy, info['policy']
        assert int(info['nonce']) == nonce
        gen = rfc3161ng.get_timestamp(tst)
        slack = datetime.timedelta(seconds=1)
        assert before - slack <= gen <= after + slack, (before, gen, after)
        assert gen.microsecond % 1000 == 0, gen   # millisecond precision
        certs = tst.content['certificates']
        assert (certs.isValue and len(certs) > 0) == include, 'certReq=%s but %s' % (include, certs.isValue)
        serials.add(int(info['serialNumber']))
        print('ok: rfc3161ng %s certReq=%s serial %d at %s' % (hashname, include, int(info['serialNumber']), gen))
assert len(serials) == 6, serials

# a requested policy on the accepted list
ts = rfc3161ng.RemoteTimestamper(url, certificate=cert, hashname='sha256', tsa_policy_id=policy2)
tsr = ts(data=b'x', return_tsr=True)
assert str(tsr.time_stamp_token.tst_info['policy']) == policy2
print('ok: rfc3161ng requested policy')

# a check with the wrong document must fail
try:
    ts.check(tsr.time_stamp_token, data=b'y')
    raise SystemExit('a token verified for another document')
except ValueError:
    print('ok: rfc3161ng refuses the token for another document')

# SHA-1 is not configured: a rejection with failInfo badAlg (bit 0), decoded by rfc3161ng
import requests
req = rfc3161ng.make_timestamp_request(data=b'abc', hashname='sha1')
r = requests.post(url, data=rfc3161ng.encode_timestamp_request(req),
                  headers={'Content-Type': 'application/timestamp-query'}, timeout=10)
assert r.status_code == 200
tsr = rfc3161ng.decode_timestamp_response(r.content)
assert int(tsr['status']['status']) == 2, tsr['status']
fi = tsr['status']['failInfo']
assert fi[0] == 1 and sum(fi) == 1, fi
assert not tsr['timeStampToken'].isValue
print('ok: rfc3161ng sees rejection/badAlg for SHA-1')
PYEOF
done_ok
