// Java's own OCSP client on certificates of the demo PKI, for tests/integration/ocsp_java.sh.
// CertPathValidator (PKIX) with a PKIXRevocationChecker: OCSP only (NO_FALLBACK: no CRL), hard fail (no
// SOFT_FAIL), end entity only (ocspd serves the issuing CAs, not the root), the responder URL given here instead
// of the certificates' AIA (the test's ocspd listens on a random port).
//
// Usage: java OcspCheck ROOT.pem RESPONDER_URL ISSUER.pem LEAF.pem [ISSUER.pem LEAF.pem ...]
// One line per leaf, the serial in upper-case hex first:
//   SERIAL good
//   SERIAL revoked REASON REVOCATION_EPOCH INVALIDITY_EPOCH|-     (REASON as java.security.cert.CRLReason)
//   SERIAL unknown
//   SERIAL error VALIDATOR_REASON MESSAGE                         (anything else: the test fails on it)
// The exit status is 0 whenever every leaf got a line; a usage or I/O error exits non-zero.
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateRevokedException;
import java.security.cert.PKIXParameters;
import java.security.cert.PKIXRevocationChecker;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

public final class OcspCheck {
    private OcspCheck() {
    }

    private static X509Certificate load(CertificateFactory cf, String file) throws IOException, CertificateException {
        try (InputStream in = new FileInputStream(file)) {
            return (X509Certificate) cf.generateCertificate(in);
        }
    }

    private static String epoch(Date d) {
        return d == null ? "-" : Long.toString(d.getTime() / 1000);
    }

    // One validation; the outcome as the line described above.
    private static String check(CertificateFactory cf, CertPathValidator cpv, TrustAnchor anchor, URI responder,
            X509Certificate issuer, X509Certificate leaf) throws Exception {
        PKIXRevocationChecker rc = (PKIXRevocationChecker) cpv.getRevocationChecker();
        rc.setOptions(EnumSet.of(PKIXRevocationChecker.Option.ONLY_END_ENTITY,
                PKIXRevocationChecker.Option.NO_FALLBACK));
        rc.setOcspResponder(responder);
        PKIXParameters params = new PKIXParameters(Set.of(anchor));
        params.addCertPathChecker(rc);   // replaces the default revocation checking (revocation stays enabled)
        CertPath path = cf.generateCertPath(List.of(leaf, issuer));
        try {
            cpv.validate(path, params);
            return "good";
        } catch (CertPathValidatorException e) {
            if (e.getReason() == CertPathValidatorException.BasicReason.REVOKED
                    && e.getCause() instanceof CertificateRevokedException) {
                CertificateRevokedException r = (CertificateRevokedException) e.getCause();
                return "revoked " + r.getRevocationReason() + " " + epoch(r.getRevocationDate()) + " "
                        + epoch(r.getInvalidityDate());
            }
            if (e.getReason() == CertPathValidatorException.BasicReason.UNDETERMINED_REVOCATION_STATUS
                    && String.valueOf(e.getMessage()).contains("status is unknown")) {
                return "unknown";
            }
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            return "error " + e.getReason() + " " + e.getMessage() + " (" + root + ")";
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4 || args.length % 2 != 0) {
            System.err.println("usage: java OcspCheck ROOT.pem URL ISSUER.pem LEAF.pem [ISSUER.pem LEAF.pem ...]");
            System.exit(2);
        }
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        TrustAnchor anchor = new TrustAnchor(load(cf, args[0]), null);
        URI responder = URI.create(args[1]);
        CertPathValidator cpv = CertPathValidator.getInstance("PKIX");
        for (int i = 2; i + 1 < args.length; i += 2) {
            X509Certificate issuer = load(cf, args[i]);
            X509Certificate leaf = load(cf, args[i + 1]);
            String serial = leaf.getSerialNumber().toString(16).toUpperCase();
            System.out.println(serial + " " + check(cf, cpv, anchor, responder, issuer, leaf));
        }
    }
}
