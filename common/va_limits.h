/*
 * va_limits.h: every bound on untrusted input and on resources, in one place. Enforced where input enters.
 * Configurable ones are defaults; the config may lower them (and raise them up to the *_MAX values).
 */
#ifndef VA_LIMITS_H
#define VA_LIMITS_H

/* HTTP */
#define LIM_HTTP_BODY_DEFAULT (16 * 1024)   /* OCSP/TSA requests are < 1 KiB; 16 KiB leaves room for many CertIDs */
#define LIM_HTTP_BODY_MAX (1024 * 1024)
#define LIM_HTTP_URL_MAX 8192               /* RFC 5019 GET: base64 of a request; 255 bytes is typical */
#define LIM_HTTP_CONN_DEFAULT 4096          /* libmicrohttpd's default is FD_SETSIZE-ish; set explicitly */
#define LIM_HTTP_PER_IP_DEFAULT 512         /* load balancers and NAT gateways share one address */
#define LIM_HTTP_TIMEOUT_DEFAULT 15         /* seconds of inactivity before a connection is closed */
#define LIM_HTTP_CONN_MEM_DEFAULT (32 * 1024) /* per-connection memory pool (headers + small bodies) */
#define LIM_TSA_CONN_MEM_DEFAULT (8 * 1024)   /* tsad's: request line and headers only (bodies have their own buffer) */
#define LIM_HTTP_THREADS_DEFAULT 2
#define LIM_HTTP_THREADS_MAX 256
#define LIM_HTTP_WORKERS_DEFAULT 2          /* deferred-work threads (signatures): one per core here */
#define LIM_HTTP_WORKERS_MAX 64
#define LIM_HTTP_DEFER_QUEUE_DEFAULT 256    /* deferred jobs waiting; ~80 ms of RSA signatures for 2 workers */
#define LIM_HTTP_DEFER_QUEUE_MAX 65536
#define LIM_HTTP_DRAIN_TIMEOUT_DEFAULT 10    /* seconds SIGTERM waits for requests and signatures still running */
#define LIM_HTTP_DRAIN_TIMEOUT_MAX 3600
#define LIM_HTTP_HEADERS_MAX 8              /* extra response headers a handler may set */

/* Daemon shutdown. SIGTERM: the process ends within drain_timeout + this, whatever thread is stuck (common/shutdown.h). It covers
 * what follows the drain (closing connections, freeing, the PKCS#11 module's C_Finalize) and the time the main
 * thread may take to start the drain. */
#define LIM_SHUTDOWN_GRACE_MS 2000
#define LIM_SHUTDOWN_REPEAT_MS 1000         /* a SIGTERM/SIGINT this long after the first ends the process at once */

/* Certificates and serials */
#define LIM_SERIAL_MAX 32                   /* RFC 5280 4.1.2.2 allows 20 octets; accept real-world overshoot */
#define LIM_CERT_DER_MAX (64 * 1024)
#define LIM_ISSUERS_MAX 256                 /* issuing CAs in one store */
#define LIM_ISSUER_LABEL_MAX 64
#define LIM_ACTOR_MAX 32                    /* OS user name recorded in the change log */

/* OCSP (RFC 6960, RFC 8954) */
#define LIM_OCSP_CERTIDS_DEFAULT 8          /* CertIDs per request */
#define LIM_OCSP_CERTIDS_MAX 256
#define LIM_OCSP_NONCE_MIN_DEFAULT 1        /* RFC 8954 2.1: at least 1 octet */
#define LIM_OCSP_NONCE_MAX_DEFAULT 32       /* RFC 8954 2.1: SHOULD be 32 */
#define LIM_OCSP_NONCE_MAX 128              /* RFC 8954 2.1: MUST NOT exceed 128 */

/* TSA (RFC 3161) */
#define LIM_TSA_REQ_MAX (8 * 1024)
#define LIM_TSA_SERIAL_BLOCK 4096           /* serials reserved per durable store write */

/* Store */
#define LIM_STORE_MAP_DEFAULT (1ULL << 30)  /* initial LMDB map size: 1 GiB of address space */
#define LIM_STORE_MAP_MAX (1ULL << 40)      /* growth stops here: 1 TiB */
#define LIM_STORE_BATCH 10000               /* records per write transaction in bulk imports */
#define LIM_STORE_READERS 512               /* LMDB reader slots across all processes */

/* Config */
#define LIM_SIGNERS_MAX 64
#define LIM_PIN_MAX 256

#endif
