/*
 * test_metrics.c: Prometheus text format 0.0.4 as rendered by metrics.c, parsed back line by line.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

/* One parsed sample line. */
struct sample {
	char name[128];
	char labels[256];
	double value;
};

struct parsed {
	struct sample s[512];
	size_t n;
	char help_names[64][128];
	size_t nhelp;
	char type_names[64][128];
	char types[64][16];
	size_t ntype;
};

/* Copies a field, failing the test (not truncating) when it does not fit. */
static void copy(char *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	assert_true(n < dstlen);
	memcpy(dst, src, n + 1);
}

/* Strict reader of the subset we emit: "# HELP name text", "# TYPE name type", "name value",
 * "name{labels} value". Fails the test on anything else. */
static void parse(const char *text, size_t len, struct parsed *p)
{
	const char *line = text, *end = text + len;

	memset(p, 0, sizeof(*p));
	assert_true(len > 0);
	assert_int_equal(text[len - 1], '\n'); /* every line ends with a newline, the last one too */
	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		char buf[1024];
		size_t l;

		assert_non_null(eol);
		l = (size_t)(eol - line);
		assert_true(l < sizeof(buf));
		memcpy(buf, line, l);
		buf[l] = '\0';
		line = eol + 1;
		if (strncmp(buf, "# HELP ", 7) == 0) {
			char *sp = strchr(buf + 7, ' ');
			assert_non_null(sp);
			*sp = '\0';
			for (size_t i = 0; i < p->nhelp; i++)
				assert_string_not_equal(p->help_names[i], buf + 7); /* HELP once per name */
			assert_true(p->nhelp < 64);
			copy(p->help_names[p->nhelp++], 128, buf + 7);
			assert_null(strchr(sp + 1, '\n'));
			continue;
		}
		if (strncmp(buf, "# TYPE ", 7) == 0) {
			char *sp = strchr(buf + 7, ' ');
			assert_non_null(sp);
			*sp = '\0';
			for (size_t i = 0; i < p->ntype; i++)
				assert_string_not_equal(p->type_names[i], buf + 7);
			assert_true(strcmp(sp + 1, "counter") == 0 || strcmp(sp + 1, "gauge") == 0 ||
				    strcmp(sp + 1, "histogram") == 0);
			/* TYPE comes right after the HELP of the same name, before any sample */
			assert_true(p->nhelp > 0);
			assert_string_equal(p->help_names[p->nhelp - 1], buf + 7);
			copy(p->type_names[p->ntype], 128, buf + 7);
			copy(p->types[p->ntype++], 16, sp + 1);
			continue;
		}
		assert_int_not_equal(buf[0], '#');
		struct sample *s = &p->s[p->n++];
		assert_true(p->n < 512);
		char *brace = strchr(buf, '{'), *sp;
		if (brace != NULL) {
			char *close = strrchr(buf, '}');
			assert_non_null(close);
			*brace = '\0';
			*close = '\0';
			copy(s->labels, sizeof(s->labels), brace + 1);
			sp = close + 1;
			assert_int_equal(*sp, ' ');
		} else {
			sp = strchr(buf, ' ');
			assert_non_null(sp);
			*sp = '\0';
		}
		copy(s->name, sizeof(s->name), buf);
		char *num = sp + 1, *nend;
		s->value = strtod(num, &nend);
		assert_true(nend != num && *nend == '\0');
		/* a sample belongs to the last TYPE'd family */
		assert_true(p->ntype > 0);
		assert_int_equal(strncmp(s->name, p->type_names[p->ntype - 1], strlen(p->type_names[p->ntype - 1])), 0);
	}
}

static const struct sample *find(const struct parsed *p, const char *name, const char *labels)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->s[i].name, name) == 0 && strcmp(p->s[i].labels, labels != NULL ? labels : "") == 0)
			return &p->s[i];
	return NULL;
}

static double value(const struct parsed *p, const char *name, const char *labels)
{
	const struct sample *s = find(p, name, labels);

	if (s == NULL) {
		print_error("sample %s{%s} not found\n", name, labels != NULL ? labels : "");
		fail();
	}
	return s->value;
}

static void render(metrics *m, struct parsed *p)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(metrics_render(m, &out, &len), VA_OK);
	assert_non_null(out);
	assert_int_equal(strlen(out), len);
	parse(out, len, p);
	free(out);
}

static void test_counters_gauges(void **state)
{
	static struct parsed p;
	metrics *m = metrics_new("va_");
	metrics_counter *a, *b, *c;
	metrics_gauge *g;

	(void)state;
	assert_non_null(m);
	a = metrics_counter_new(m, "req_total", "Requests", "route=\"/\",result=\"ok\"");
	b = metrics_counter_new(m, "req_total", "Requests", "route=\"/\",result=\"bad\"");
	c = metrics_counter_new(m, "plain_total", "No labels", NULL);
	g = metrics_gauge_new(m, "in_flight", "Now", NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_non_null(g);
	assert_ptr_not_equal(a, b);
	/* same name and labels: the same series */
	assert_ptr_equal(metrics_counter_new(m, "req_total", "Requests", "route=\"/\",result=\"ok\""), a);
	metrics_counter_inc(a);
	metrics_counter_add(a, 41);
	metrics_counter_inc(b);
	metrics_counter_add(c, 7);
	metrics_gauge_set(g, 10);
	metrics_gauge_add(g, -13);
	assert_int_equal(metrics_counter_value(a), 42);
	assert_int_equal(metrics_gauge_value(g), -3);

	render(m, &p);
	assert_int_equal(p.nhelp, 3);
	assert_int_equal(p.ntype, 3);
	assert_string_equal(p.type_names[0], "va_req_total");
	assert_string_equal(p.types[0], "counter");
	assert_string_equal(p.types[2], "gauge");
	assert_true(value(&p, "va_req_total", "route=\"/\",result=\"ok\"") == 42);
	assert_true(value(&p, "va_req_total", "route=\"/\",result=\"bad\"") == 1);
	assert_true(value(&p, "va_plain_total", NULL) == 7);
	assert_true(value(&p, "va_in_flight", NULL) == -3);
	assert_int_equal(p.n, 4);

	/* NULL series are no-ops (a failed registration loses only its figure) */
	metrics_counter_inc(NULL);
	metrics_gauge_add(NULL, 1);
	metrics_histogram_observe(NULL, 1.0);
	assert_int_equal(metrics_counter_value(NULL), 0);
	metrics_free(m);
	metrics_free(NULL);
}

static void test_histogram(void **state)
{
	static struct parsed p;
	metrics *m = metrics_new("");
	metrics_histogram *h = metrics_histogram_new(m, "lat_seconds", "Latency", "route=\"/x\"");
	metrics_histogram *h2 = metrics_histogram_new(m, "lat_seconds", "Latency", NULL);
	static const double obs[] = { 0.00005, 0.0001, 0.0003, 0.002, 0.002, 0.7, 3, 11, 1000, -1 };
	double sum = 0;

	(void)state;
	assert_non_null(h);
	assert_non_null(h2);
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) {
		metrics_histogram_observe(h, obs[i]);
		sum += obs[i] > 0 ? obs[i] : 0;
	}
	assert_int_equal(metrics_histogram_count(h), 10);
	render(m, &p);
	assert_int_equal(p.ntype, 1);
	assert_string_equal(p.types[0], "histogram");
	/* le="0.0001" holds 0.00005, 0.0001 (the bound is inclusive) and the negative one counted as zero */
	assert_true(value(&p, "lat_seconds_bucket", "route=\"/x\",le=\"0.0001\"") == 3);
	assert_true(value(&p, "lat_seconds_bucket", "route=\"/x\",le=\"0.0005\"") == 4);
	assert_true(value(&p, "lat_seconds_bucket", "route=\"/x\",le=\"0.0025\"") == 6);
	assert_true(value(&p, "lat_seconds_bucket", "route=\"/x\",le=\"1\"") == 7);
	assert_true(value(&p, "lat_seconds_bucket", "route=\"/x\",le=\"5\"") == 8);
	assert_true(value(&p, "lat_seconds_bucket", "route=\"/x\",le=\"10\"") == 8);
	assert_true(value(&p, "lat_seconds_bucket", "route=\"/x\",le=\"+Inf\"") == 10);
	assert_true(value(&p, "lat_seconds_count", "route=\"/x\"") == 10);
	double got = value(&p, "lat_seconds_sum", "route=\"/x\"");
	assert_true(got > sum - 1e-6 && got < sum + 1e-6);
	/* buckets are cumulative: never decreasing, in order */
	double prev = -1;
	size_t nb = 0;
	for (size_t i = 0; i < p.n; i++) {
		if (strcmp(p.s[i].name, "lat_seconds_bucket") != 0 || strncmp(p.s[i].labels, "route", 5) != 0)
			continue;
		assert_true(p.s[i].value >= prev);
		prev = p.s[i].value;
		nb++;
	}
	assert_int_equal(nb, 17); /* 16 bounds from 100 us to 10 s, and +Inf */
	/* the unlabelled series renders le alone */
	assert_true(value(&p, "lat_seconds_bucket", "le=\"+Inf\"") == 0);
	assert_true(value(&p, "lat_seconds_count", NULL) == 0);
	metrics_free(m);
}

static void test_help_escaping(void **state)
{
	metrics *m = metrics_new("x_");
	char *out;
	size_t len;

	(void)state;
	assert_non_null(metrics_counter_new(m, "c_total", "line one\nback\\slash", NULL));
	assert_int_equal(metrics_render(m, &out, &len), VA_OK);
	assert_non_null(strstr(out, "# HELP x_c_total line one\\nback\\\\slash\n"));
	free(out);
	metrics_free(m);
}

static void test_bad_registrations(void **state)
{
	metrics *m = metrics_new("p_");
	char longname[200];

	(void)state;
	assert_null(metrics_counter_new(m, "bad-name", "h", NULL));
	assert_null(metrics_counter_new(m, "", "h", NULL));
	assert_null(metrics_counter_new(m, "sp ace", "h", NULL));
	assert_null(metrics_counter_new(m, "c_total", "h", "a=\"1\"}\nfake 1"));
	assert_null(metrics_counter_new(NULL, "c_total", "h", NULL));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_null(metrics_counter_new(m, longname, "h", NULL));
	/* a name keeps its first type */
	assert_non_null(metrics_counter_new(m, "thing", "h", NULL));
	assert_null(metrics_gauge_new(m, "thing", "h", "x=\"1\""));
	assert_null(metrics_histogram_new(m, "thing", "h", NULL));
	/* a prefix may not start with a digit once joined */
	metrics *m2 = metrics_new("9");
	assert_non_null(m2);
	assert_null(metrics_counter_new(m2, "c", "h", NULL));
	metrics_free(m2);
	memset(longname, 'a', 100);
	longname[100] = '\0';
	assert_null(metrics_new(longname));
	assert_int_equal(metrics_render(NULL, NULL, NULL), VA_ERR_INVAL);
	metrics_free(m);
}

struct worker {
	metrics_counter *c;
	metrics_histogram *h;
	metrics_gauge *g;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 100000; i++) {
		metrics_counter_inc(w->c);
		metrics_gauge_add(w->g, 1);
		metrics_histogram_observe(w->h, 0.001);
		metrics_gauge_add(w->g, -1);
	}
	return NULL;
}

static void test_concurrent_updates(void **state)
{
	static struct parsed p;
	metrics *m = metrics_new("");
	struct worker w = { metrics_counter_new(m, "n_total", "n", NULL), metrics_histogram_new(m, "h", "h", NULL),
			    metrics_gauge_new(m, "g", "g", NULL) };
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w), 0);
	/* rendering while writers run must be safe (and is checked by TSan/ASan builds) */
	for (int i = 0; i < 20; i++)
		render(m, &p);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	render(m, &p);
	assert_true(value(&p, "n_total", NULL) == 400000);
	assert_true(value(&p, "h_count", NULL) == 400000);
	assert_true(value(&p, "h_bucket", "le=\"0.001\"") == 400000);
	assert_true(value(&p, "g", NULL) == 0);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_gauges),	  cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_help_escaping),	  cmocka_unit_test(test_bad_registrations),
		cmocka_unit_test(test_concurrent_updates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
