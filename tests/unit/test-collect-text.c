/*
 * Unit tests for collect/coll-text.c (unified diff, redaction), coll-exec.c (commands
 * written here into a temporary directory) and coll-firewall.c (the nft and iptables
 * parsers on the fixtures in tests/data/collect/text, a run on the machine, and, as root
 * with nft, a run in a network namespace loaded with the fixtures' ruleset).
 *
 * The expected diffs in tests/data/collect/text/diff/NAME.diff were made by GNU diff:
 *	diff -u --label before --label after NAME.a NAME.b > NAME.diff
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/object.h"
#include "base/proc.h"
#include "collect/coll-firewall.h"
#include "collect/collect.h"
#include "crypto/hash.h"

static char *read_fixture(const char *rel)
{
	const char *data = getenv("TEST_DATA");
	char path[4096];
	char *text;
	long n;
	FILE *f;

	assert_non_null(data);
	snprintf(path, sizeof(path), "%s/collect/text/%s", data, rel);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

static const struct coll_item *find_item(const struct coll_set *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].key, key) == 0)
			return &s->items[i];
	fail_msg("no item '%s'", key);
	return NULL;
}

/* ---- unified diff ---- */

static void test_diff_fixtures(void **state)
{
	static const char *const names[] = {
		"change-middle", "two-hunks",	 "gap-six-merged", "gap-seven-split",
		"edges",	 "from-empty",	 "to-empty",	   "eol-added",
		"eol-removed",	 "eol-both",	 "single-line",	   "nested-blocks",
		"sshd-config",	 "blank-inserted", "block-moved",  "random-edits",
		"duplicate-lines", "all-replaced", "slide-down",   "slide-merge",
		"slide-repeats",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char rel[256];
		char *a, *b, *want;
		struct buf out;

		snprintf(rel, sizeof(rel), "diff/%s.a", names[i]);
		a = read_fixture(rel);
		snprintf(rel, sizeof(rel), "diff/%s.b", names[i]);
		b = read_fixture(rel);
		snprintf(rel, sizeof(rel), "diff/%s.diff", names[i]);
		want = read_fixture(rel);
		buf_init(&out, 1 << 20);
		assert_int_equal(coll_unified_diff(a, b, &out), 0);
		if (strcmp(buf_str(&out), want) != 0)
			fail_msg("diff %s:\n--- expected\n%s--- got\n%s", names[i], want,
				 buf_str(&out));
		buf_release(&out);
		free(a);
		free(b);
		free(want);
	}
}

static void test_diff_small(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 4096);
	assert_int_equal(coll_unified_diff("a\nb\n", "a\nb\n", &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(coll_unified_diff(NULL, "", &out), 0);
	assert_int_equal(coll_unified_diff(NULL, NULL, &out), 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(coll_unified_diff(NULL, "x\n", &out), 0);
	assert_string_equal(buf_str(&out), "--- before\n+++ after\n@@ -0,0 +1 @@\n+x\n");
	/* appends after what is there */
	assert_int_equal(coll_unified_diff("x", NULL, &out), 0);
	assert_string_equal(buf_str(&out), "--- before\n+++ after\n@@ -0,0 +1 @@\n+x\n"
					   "--- before\n+++ after\n@@ -1 +0,0 @@\n-x\n"
					   "\\ No newline at end of file\n");
	buf_release(&out);

	/* all or nothing at the cap */
	buf_init(&out, 40);
	assert_int_equal(buf_puts(&out, "keep"), 0);
	assert_int_equal(coll_unified_diff("1\n2\n3\n", "1\n2\nthree\n", &out), -E2BIG);
	assert_string_equal(buf_str(&out), "keep");
	buf_release(&out);
}

/* not inlined: GCC then takes its result for a pointer to its local (a false -Wdangling-pointer) */
__attribute__((noinline)) static char *numbered(size_t n, const char *word)
{
	struct buf b;
	char *s;

	buf_init(&b, 1 << 24);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(buf_printf(&b, "%s %zu\n", word, i), 0);
	assert_int_equal(buf_detach(&b, &s, NULL), 0);
	return s;
}

static void test_diff_large(void **state)
{
	static const char hdr[] = "--- before\n+++ after\n@@ -1,20001 +1,20001 @@\n";
	char *a = numbered(20001, "line"), *b = strdup(a), *p;
	size_t minus = 0, plus = 0, space = 0;
	struct buf out;

	(void)state;
	assert_non_null(b);
	/* one line differs, but above 20000 lines the whole text is one replacement */
	p = strstr(b, "line 5000\n");
	assert_non_null(p);
	p[0] = 'L';
	buf_init(&out, 1 << 24);
	assert_int_equal(coll_unified_diff(a, b, &out), 0);
	assert_true(strncmp(buf_str(&out), hdr, strlen(hdr)) == 0);
	for (const char *l = buf_str(&out) + strlen(hdr); *l; l = strchr(l, '\n') + 1) {
		minus += *l == '-';
		plus += *l == '+';
		space += *l == ' ';
	}
	assert_int_equal(minus, 20001);
	assert_int_equal(plus, 20001);
	assert_int_equal(space, 0);
	buf_release(&out);
	free(a);
	free(b);

	/* below the limit: a real diff, however many lines */
	a = numbered(15000, "row");
	b = numbered(15000, "row");
	p = strstr(b, "row 7000\n");
	assert_non_null(p);
	b[p - b] = 'R';
	buf_init(&out, 1 << 24);
	assert_int_equal(coll_unified_diff(a, b, &out), 0);
	assert_string_equal(buf_str(&out), "--- before\n+++ after\n@@ -6998,7 +6998,7 @@\n"
					   " row 6997\n row 6998\n row 6999\n-row 7000\n"
					   "+Row 7000\n row 7001\n row 7002\n row 7003\n");
	buf_release(&out);
	free(a);
	free(b);
}

/* ---- redaction ---- */

struct redact_case {
	const char *in, *out;
};

static void check_redact(const struct redact_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct buf out;

		buf_init(&out, 1 << 20);
		assert_int_equal(coll_redact(c[i].in, strlen(c[i].in), &out), 0);
		if (strcmp(buf_str(&out), c[i].out) != 0)
			fail_msg("redact '%s': expected '%s', got '%s'", c[i].in, c[i].out,
				 buf_str(&out));
		buf_release(&out);
	}
}

static void test_redact_values(void **state)
{
	static const struct redact_case c[] = {
		{ "password=hunter2\n", "password=<redacted>\n" },
		{ "password = hunter2", "password = <redacted>" },
		{ "DB_PASSWORD=\"s3cr3t value\"", "DB_PASSWORD=\"<redacted>\"" },
		{ "export MYSQL_PWD='abc def' x", "export MYSQL_PWD='<redacted>' x" },
		{ "{\"user\": \"bob\", \"password\": \"pa\\\"ss\", \"n\": 1}",
		  "{\"user\": \"bob\", \"password\": \"<redacted>\", \"n\": 1}" },
		{ "{\"apiKey\":\"XYZ\",\"api_key\":42,\"token\":null}",
		  "{\"apiKey\":\"<redacted>\",\"api_key\":<redacted>,\"token\":null}" },
		{ "client_secret: abcdef", "client_secret: <redacted>" },
		{ "  secret: abc\n  other: x\n", "  secret: <redacted>\n  other: x\n" },
		{ "'token': 'abc'", "'token': '<redacted>'" },
		{ "ACCESS_TOKEN=abc;", "ACCESS_TOKEN=<redacted>;" },
		{ "auth=sekrit", "auth=<redacted>" },
		{ "Authorization: Bearer eyJhbGciOi.abc.def",
		  "Authorization: Bearer <redacted>" },
		{ "Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic <redacted>" },
		{ "snmp-server community public RO", "snmp-server community <redacted> RO" },
		{ "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
		  "enable secret 5 <redacted>" },
		{ "machine example.com login bob password s3cret",
		  "machine example.com login bob password <redacted>" },
		{ "wpa_psk=0123456789abcdef", "wpa_psk=<redacted>" },
		{ "wpa_passphrase=\"correct horse\"", "wpa_passphrase=\"<redacted>\"" },
		{ "bindpw s3cret", "bindpw <redacted>" },
		{ "PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
		  "PrivateKey = <redacted>" },
		{ "PresharedKey = abc", "PresharedKey = <redacted>" },
		{ "aws_secret_access_key = AKIAxyz", "aws_secret_access_key = <redacted>" },
		{ "SECRET_KEY_BASE='a'", "SECRET_KEY_BASE='<redacted>'" },
		{ "secretKeyBase: a", "secretKeyBase: <redacted>" },
		{ "passwordHash=$2y$10$abc", "passwordHash=<redacted>" },
		{ "keyValue=x", "keyValue=<redacted>" },
		{ "user_password_hash: $6$salt$abc", "user_password_hash: <redacted>" },
		{ "--password=abc --verbose", "--password=<redacted> --verbose" },
		{ "--db-password abc --verbose", "--db-password <redacted> --verbose" },
		{ "credentials: x1", "credentials: <redacted>" },
		{ "key2 = v", "key2 = <redacted>" },
		{ "$pass => 'x',", "$pass => '<redacted>'," },
		{ "<password>xmlsecret</password>", "<password><redacted></password>" },
		{ "url=postgres://user:pa55word@db.example.com:5432/app",
		  "url=postgres://user:<redacted>@db.example.com:5432/app" },
		{ "rootpw=\"unterminated", "rootpw=\"<redacted>" },
		{ "password=a\r\nnext", "password=<redacted>\r\nnext" },
	};

	(void)state;
	check_redact(c, sizeof(c) / sizeof(c[0]));
}

static void test_redact_blocks_and_words(void **state)
{
	static const struct redact_case c[] = {
		{ "before\n-----BEGIN OPENSSH PRIVATE KEY-----\n"
		  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
		  "QyNTUxOQAAACDx\n-----END OPENSSH PRIVATE KEY-----\nafter\n",
		  "before\n<redacted private key>\nafter\n" },
		{ "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nabc\n"
		  "-----END RSA PRIVATE KEY-----",
		  "<redacted private key>" },
		{ "{\"k\": \"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n\"}",
		  "{\"k\": \"<redacted private key>\\n\"}" },
		/* no END line: everything after BEGIN */
		{ "x\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n", "x\n<redacted private key>" },
		/* a certificate is public */
		{ "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
		  "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
		/* high-entropy words */
		{ "ghp_AbC1dE2fG3hI4jK5lM6nO7pQ8rS9tU0vW1xY2z end", "<redacted> end" },
		{ "sha: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		  "sha: <redacted>" },
		{ "x=dGhpcyBpcyBhIHNlY3JldCB0b2tlbiBmb3IgdGVzdHM=",
		  "x=<redacted>" },
		{ "GET /v1/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdI/items",
		  "GET /v1/<redacted>/items" },
	};

	(void)state;
	check_redact(c, sizeof(c) / sizeof(c[0]));
}

static void test_redact_leaves(void **state)
{
	static const char *const same[] = {
		"PasswordAuthentication no",
		"PermitEmptyPasswords no",
		"PubkeyAuthentication yes",
		"AuthorizedKeysFile .ssh/authorized_keys",
		"HostKey /etc/ssh/ssh_host_ed25519_key",
		"auth required pam_unix.so",
		"auth [success=1 default=ignore] pam_unix.so nullok",
		"password requisite pam_pwquality.so retry=3",
		"keyboard layout us",
		"monkey business",
		"keyboard=us",
		"KEYMAP=de",
		"fileHash=abc",
		"base=x",
		"hostname_value=x",
		"the token is expired",
		"Failed password for root from 192.0.2.1 port 22",
		"tokenizer=fast",
		"secretary: alice",
		"passwd: files systemd",
		"api_key: ${API_KEY}",
		"password=$DB_PASSWORD",
		"password: ''",
		"password=",
		"password: {",
		"PWD=/root",
		"ssl_certificate_key /etc/ssl/private/site.key;",
		"--key-file=/etc/x.key",
		"ThisIsAVeryLongCamelCaseIdentifierName2",
		"/usr/lib/x86_64-linux-gnu/security/pam_unix.so",
		"123e4567-e89b-12d3-a456-426614174000",
		"https://example.com/path?q=1",
		"x == password",
		"Primary key fingerprint: 1234 5678",
		"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		struct redact_case c = { same[i], same[i] };

		check_redact(&c, 1);
	}
}

static void test_redact_deterministic_and_capped(void **state)
{
	const char *in = "password=a token=b\n";
	struct buf a, b;

	(void)state;
	buf_init(&a, 1024);
	buf_init(&b, 1024);
	assert_int_equal(coll_redact(in, strlen(in), &a), 0);
	/* redacting twice changes nothing more */
	assert_int_equal(coll_redact(a.data, a.len, &b), 0);
	assert_string_equal(a.data, "password=<redacted> token=<redacted>\n");
	assert_string_equal(a.data, b.data);
	buf_release(&a);
	buf_release(&b);

	buf_init(&a, 12);
	assert_int_equal(buf_puts(&a, "ab"), 0);
	assert_int_equal(coll_redact(in, strlen(in), &a), -E2BIG);
	assert_string_equal(a.data, "ab");
	buf_release(&a);
}

/* ---- exec ---- */

static char exec_dir[] = "/tmp/vigil-exec.XXXXXX";

static int exec_setup(void **state)
{
	(void)state;
	return mkdtemp(exec_dir) ? 0 : -1;
}

static int exec_teardown(void **state)
{
	static const char *const names[] = { "out.sh", "exit3.sh", "slow.sh", "big.sh",
					     "huge.sh", "noexec.sh", "secret.sh" };
	char path[512];

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", exec_dir, names[i]);
		unlink(path);
	}
	return rmdir(exec_dir);
}

static const char *script(const char *name, const char *body, mode_t mode)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", exec_dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void sha_hex(const char *s, char *hex)
{
	uint8_t d[SHA256_LEN];

	assert_int_equal(sha256_buf(s, strlen(s), d), 0);
	hex_encode(d, sizeof(d), hex);
}

static int run_execs(const struct coll_exec *x, size_t n, int64_t timeout_ns,
		     struct coll_set *out, struct vg_error *err)
{
	struct coll_opts o = { .root = "", .timeout_ns = timeout_ns, .execs = x, .n_execs = n };

	vg_error_clear(err);
	return coll_exec_collect(&o, out, err);
}

static void test_exec_state(void **state)
{
	char path[512], hex[2 * SHA256_LEN + 1], want[1024], first_sha[2 * SHA256_LEN + 1];
	char *argv[] = { path, NULL };
	struct coll_exec x = { .name = "greeting", .argv = argv };
	struct coll_set s = { 0 };
	struct vg_error err;

	(void)state;
	snprintf(path, sizeof(path), "%s", script("out.sh",
						  "printf 'hello  \\r\\nworld\\t\\n\\n\\n'\n",
						  0755));
	assert_int_equal(run_execs(&x, 1, 0, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.items[0].key, "greeting");
	sha_hex("hello\nworld\n", hex);
	snprintf(want, sizeof(want),
		 "{\"exit\":0,\"lines\":2,\"sha256\":\"%s\",\"text\":\"hello\\nworld\\n\","
		 "\"truncated\":false}",
		 hex);
	assert_string_equal(s.items[0].state, want);
	assert_string_equal(s.items[0].text, "hello\nworld\n");
	memcpy(first_sha, hex, sizeof(hex));
	coll_set_release(&s);

	/* another output, another digest; secrets in it are redacted in the text only */
	script("out.sh", "echo 'user=bob'\necho 'password=hunter2'\n", 0755);
	assert_int_equal(run_execs(&x, 1, 0, &s, &err), 0);
	sha_hex("user=bob\npassword=hunter2\n", hex);
	assert_string_not_equal(hex, first_sha);
	snprintf(want, sizeof(want),
		 "{\"exit\":0,\"lines\":2,\"sha256\":\"%s\",\"text\":\"user=bob\\n"
		 "password=<redacted>\\n\",\"truncated\":false}",
		 hex);
	assert_string_equal(s.items[0].state, want);
	assert_string_equal(s.items[0].text, "user=bob\npassword=<redacted>\n");
	coll_set_release(&s);

	/* bytes that are not UTF-8 show escaped; no output at all is 0 lines */
	script("out.sh", "printf 'a\\377b\\001\\n'\n", 0755);
	assert_int_equal(run_execs(&x, 1, 0, &s, &err), 0);
	assert_string_equal(s.items[0].text, "a\\xffb\\x01\n");
	coll_set_release(&s);
	script("out.sh", "true\n", 0755);
	assert_int_equal(run_execs(&x, 1, 0, &s, &err), 0);
	sha_hex("", hex);
	snprintf(want, sizeof(want),
		 "{\"exit\":0,\"lines\":0,\"sha256\":\"%s\",\"text\":\"\",\"truncated\":false}",
		 hex);
	assert_string_equal(s.items[0].state, want);
	coll_set_release(&s);
}

static void test_exec_exit_and_secret(void **state)
{
	char p1[512], p2[512], hex[2 * SHA256_LEN + 1], want[1024];
	char *argv1[] = { p1, NULL }, *argv2[] = { p2, NULL };
	struct coll_exec x[] = {
		{ .name = "failing", .argv = argv1 },
		{ .name = "vault", .argv = argv2, .secret = true },
	};
	struct coll_set s = { 0 };
	struct vg_error err;

	(void)state;
	snprintf(p1, sizeof(p1), "%s", script("exit3.sh", "echo partial\nexit 3\n", 0755));
	snprintf(p2, sizeof(p2), "%s", script("secret.sh", "echo 's3cr3t-v4lue'\n", 0755));
	assert_int_equal(run_execs(x, 2, 0, &s, &err), 0);
	assert_int_equal(s.n, 2);
	sha_hex("partial\n", hex);
	snprintf(want, sizeof(want),
		 "{\"exit\":3,\"lines\":1,\"sha256\":\"%s\",\"text\":\"partial\\n\","
		 "\"truncated\":false}",
		 hex);
	assert_string_equal(find_item(&s, "failing")->state, want);
	sha_hex("s3cr3t-v4lue\n", hex);
	snprintf(want, sizeof(want),
		 "{\"exit\":0,\"lines\":1,\"sha256\":\"%s\",\"text\":null,\"truncated\":false}",
		 hex);
	assert_string_equal(find_item(&s, "vault")->state, want);
	assert_null(find_item(&s, "vault")->text);
	assert_null(strstr(find_item(&s, "vault")->state, "s3cr3t"));
	coll_set_release(&s);
}

static void test_exec_big(void **state)
{
	char p1[512], p2[512];
	char *argv1[] = { p1, NULL }, *argv2[] = { p2, NULL };
	struct coll_exec x[] = {
		{ .name = "big", .argv = argv1 },
		{ .name = "huge", .argv = argv2 },
	};
	struct coll_set s = { 0 };
	struct vg_error err;
	const struct coll_item *it;

	(void)state;
	/* 70000 bytes: above the 64 KiB kept as text */
	snprintf(p1, sizeof(p1), "%s",
		 script("big.sh",
			"i=0\nwhile [ $i -lt 7000 ]; do echo 123456789; i=$((i+1)); done\n",
			0755));
	/* 2 MiB: above the 1 MiB capture */
	snprintf(p2, sizeof(p2), "%s",
		 script("huge.sh", "head -c 2097152 /dev/zero | tr '\\0' 'x'\n", 0755));
	assert_int_equal(run_execs(x, 2, 0, &s, &err), 0);
	it = find_item(&s, "big");
	assert_non_null(strstr(it->state, "\"lines\":7000,"));
	assert_non_null(strstr(it->state, "\"text\":null,\"truncated\":false}"));
	assert_null(it->text);
	it = find_item(&s, "huge");
	assert_non_null(strstr(it->state, "\"exit\":0,\"lines\":1,"));
	assert_non_null(strstr(it->state, "\"text\":null,\"truncated\":true}"));
	coll_set_release(&s);
}

static void test_exec_failures(void **state)
{
	char p1[512], p2[512], p3[512], msg[1024];
	char missing[] = "/nonexistent/vigil-test-cmd";
	char *argv1[] = { p1, NULL }, *argv2[] = { missing, NULL }, *argv3[] = { p3, NULL };
	char *argv4[] = { p2, NULL }, *rel[] = { (char *)"ls", NULL };
	struct coll_exec x[] = {
		{ .name = "first", .argv = argv1 },
		{ .name = "missing", .argv = argv2 },
		{ .name = "slow", .argv = argv3, .timeout_ns = 300 * 1000 * 1000 },
		{ .name = "last", .argv = argv1 },
	};
	struct coll_exec noexec = { .name = "noexec", .argv = argv4 };
	struct coll_exec relative = { .name = "relative", .argv = rel };
	struct coll_set s = { 0 };
	struct vg_error err;

	(void)state;
	snprintf(p1, sizeof(p1), "%s", script("out.sh", "echo ok\n", 0755));
	snprintf(p3, sizeof(p3), "%s", script("slow.sh", "sleep 5\n", 0755));
	snprintf(p2, sizeof(p2), "%s", script("noexec.sh", "echo no\n", 0644));

	/* the timeout alone */
	assert_int_equal(run_execs(&x[2], 1, 0, &s, &err), -ETIME);
	vg_error_format(&err, msg, sizeof(msg));
	{
		char want[1024];

		snprintf(want, sizeof(want),
			 "exec 'slow': '%s' did not finish within 300 ms; killed", p3);
		assert_string_equal(msg, want);
	}
	assert_int_equal(s.n, 0);

	/* the others are still collected; the first failure is returned */
	assert_int_equal(run_execs(x, 4, 0, &s, &err), -ENOENT);
	vg_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "exec 'missing': cannot run '/nonexistent/vigil-test-cmd': "
				 "No such file or directory");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.items[0].key, "first");
	assert_string_equal(s.items[1].key, "last");
	coll_set_release(&s);

	/* the collector's timeout applies when the exec has none; whole seconds say "s" */
	x[2].timeout_ns = 0;
	assert_int_equal(run_execs(&x[2], 1, 1000LL * 1000 * 1000, &s, &err), -ETIME);
	vg_error_format(&err, msg, sizeof(msg));
	assert_non_null(strstr(msg, "did not finish within 1 s; killed"));

	assert_int_equal(run_execs(&noexec, 1, 0, &s, &err), -EACCES);
	vg_error_format(&err, msg, sizeof(msg));
	assert_non_null(strstr(msg, "exec 'noexec': cannot run '"));
	assert_int_equal(run_execs(&relative, 1, 0, &s, &err), -EINVAL);
	vg_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "exec 'relative': the command must be an absolute path");

	/* the same name twice */
	x[2].timeout_ns = 300 * 1000 * 1000;
	x[3].name = "first";
	assert_int_equal(run_execs(x, 4, 0, &s, &err), -ENOENT);
	coll_set_release(&s);
	assert_int_equal(run_execs(&x[3], 1, 0, &s, &err), 0);
	assert_int_equal(run_execs(&x[3], 1, 0, &s, &err), -EEXIST);
	vg_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "exec 'first': the name is used twice");
	coll_set_release(&s);
}

/* ---- firewall ---- */

struct expect {
	const char *key, *state, *text;
};

#define INPUT_RULES                                                                  \
	"update @ratelimit { ip saddr limit rate 10/second }\n"                     \
	"tcp dport 2222 quota name \"web_quota\"\n"                                   \
	"ct state established,related accept\n"                                      \
	"tcp dport 22 counter accept\n"                                              \
	"tcp dport 2222 counter name \"ssh_hits\" accept\n"                          \
	"iif \"lo\" accept\n"                                                         \
	"ip saddr @blocked_v4 drop\n"                                                \
	"tcp dport { 80, 443 } accept\n"                                             \
	"tcp dport vmap @port_verdict\n"

static const struct expect nft_expect[] = {
	{ "inet filter", "{\"definition\":[]}", "" },
	{ "inet filter counter ssh_hits", "{\"definition\":[]}", "" },
	{ "inet filter forward",
	  "{\"comment\":null,\"device\":null,\"hook\":\"forward\",\"policy\":\"drop\","
	  "\"priority\":\"filter\",\"rules\":[],\"type\":\"filter\"}",
	  "" },
	{ "inet filter input",
	  "{\"comment\":\"main input; { not a block\",\"device\":null,\"hook\":\"input\","
	  "\"policy\":\"drop\",\"priority\":\"filter\","
	  "\"rules\":[\"update @ratelimit { ip saddr limit rate 10/second }\","
	  "\"tcp dport 2222 quota name \\\"web_quota\\\"\","
	  "\"ct state established,related accept\",\"tcp dport 22 counter accept\","
	  "\"tcp dport 2222 counter name \\\"ssh_hits\\\" accept\",\"iif \\\"lo\\\" accept\","
	  "\"ip saddr @blocked_v4 drop\",\"tcp dport { 80, 443 } accept\","
	  "\"tcp dport vmap @port_verdict\"],\"type\":\"filter\"}",
	  INPUT_RULES },
	{ "inet filter map port_verdict",
	  "{\"definition\":[\"type inet_service : verdict\"],"
	  "\"elements\":[\"22 : accept\",\"80 : jump web\"]}",
	  "type inet_service : verdict\n22 : accept\n80 : jump web\n" },
	{ "inet filter quota web_quota", "{\"definition\":[\"over 25 mbytes\"]}",
	  "over 25 mbytes\n" },
	{ "inet filter set blocked_v4",
	  "{\"definition\":[\"type ipv4_addr\",\"flags interval\",\"auto-merge\"],"
	  "\"elements\":[\"10.0.0.0/8\",\"192.0.2.1\",\"198.51.100.0/24\"]}",
	  "type ipv4_addr\nflags interval\nauto-merge\n10.0.0.0/8\n192.0.2.1\n"
	  "198.51.100.0/24\n" },
	/* filled by the packet path ("update @ratelimit"): its elements are not kept */
	{ "inet filter set ratelimit",
	  "{\"definition\":[\"type ipv4_addr\",\"size 65535\",\"flags dynamic,timeout\","
	  "\"timeout 1m\"],\"elements\":null}",
	  "type ipv4_addr\nsize 65535\nflags dynamic,timeout\ntimeout 1m\n" },
	{ "inet filter set trusted",
	  "{\"definition\":[\"type ipv4_addr\",\"flags timeout\"],"
	  "\"elements\":[\"192.0.2.50 timeout 1h\",\"192.0.2.51\"]}",
	  "type ipv4_addr\nflags timeout\n192.0.2.50 timeout 1h\n192.0.2.51\n" },
	{ "inet filter web",
	  "{\"comment\":null,\"device\":null,\"hook\":null,\"policy\":null,\"priority\":null,"
	  "\"rules\":[\"limit rate 10/second accept\",\"drop\"],\"type\":null}",
	  "limit rate 10/second accept\ndrop\n" },
	{ "ip nat", "{\"definition\":[]}", "" },
	{ "ip nat postrouting",
	  "{\"comment\":null,\"device\":null,\"hook\":\"postrouting\",\"policy\":\"accept\","
	  "\"priority\":\"srcnat + 10\",\"rules\":[\"oifname \\\"eth0\\\" masquerade\"],"
	  "\"type\":\"nat\"}",
	  "oifname \"eth0\" masquerade\n" },
	{ "netdev guard", "{\"definition\":[\"flags dormant\"]}", "flags dormant\n" },
	{ "netdev guard ingress",
	  "{\"comment\":null,\"device\":\"lo\",\"hook\":\"ingress\",\"policy\":\"accept\","
	  "\"priority\":\"-500\",\"rules\":[\"ip frag-off & 8191 != 0 drop\"],"
	  "\"type\":\"filter\"}",
	  "ip frag-off & 8191 != 0 drop\n" },
};

static void check_set(struct coll_set *s, const struct expect *e, size_t n)
{
	coll_set_sort(s);
	for (size_t i = 0; i < s->n && i < n; i++) {
		assert_string_equal(s->items[i].key, e[i].key);
		if (strcmp(s->items[i].state, e[i].state) != 0)
			fail_msg("%s:\n  want %s\n  got  %s", e[i].key, e[i].state,
				 s->items[i].state);
		if (e[i].text)
			assert_string_equal(s->items[i].text, e[i].text);
		else
			assert_null(s->items[i].text);
	}
	assert_int_equal(s->n, n);
}

static void test_nft_fixtures(void **state)
{
	static const char *const files[] = { "nft-ruleset.txt", "nft-ruleset-stateful.txt" };

	(void)state;
	/* what changes by itself (counters, expiry, quota use) is not part of the states */
	for (size_t f = 0; f < 2; f++) {
		char *text = read_fixture(files[f]);
		struct coll_set s = { 0 };
		struct vg_error err;

		vg_error_clear(&err);
		assert_int_equal(coll_firewall_parse_nft(text, &s, &err), 0);
		check_set(&s, nft_expect, sizeof(nft_expect) / sizeof(nft_expect[0]));
		coll_set_release(&s);
		free(text);
	}
}

static void test_nft_change_shows(void **state)
{
	char *text = read_fixture("nft-ruleset.txt"), *p;
	struct coll_set a = { 0 }, b = { 0 };
	struct vg_error err;
	struct buf d;

	(void)state;
	assert_int_equal(coll_firewall_parse_nft(text, &a, &err), 0);
	p = strstr(text, "tcp dport 22 counter accept");
	assert_non_null(p);
	memcpy(p, "tcp dport 23", 12);
	assert_int_equal(coll_firewall_parse_nft(text, &b, &err), 0);
	assert_string_not_equal(find_item(&a, "inet filter input")->state,
				find_item(&b, "inet filter input")->state);
	assert_string_equal(find_item(&a, "inet filter web")->state,
			    find_item(&b, "inet filter web")->state);
	buf_init(&d, 4096);
	assert_int_equal(coll_unified_diff(find_item(&a, "inet filter input")->text,
					   find_item(&b, "inet filter input")->text, &d),
			 0);
	assert_string_equal(buf_str(&d), "--- before\n+++ after\n@@ -1,7 +1,7 @@\n"
					 " update @ratelimit { ip saddr limit rate 10/second }\n"
					 " tcp dport 2222 quota name \"web_quota\"\n"
					 " ct state established,related accept\n"
					 "-tcp dport 22 counter accept\n"
					 "+tcp dport 23 counter accept\n"
					 " tcp dport 2222 counter name \"ssh_hits\" accept\n"
					 " iif \"lo\" accept\n"
					 " ip saddr @blocked_v4 drop\n");
	buf_release(&d);
	coll_set_release(&a);
	coll_set_release(&b);
	free(text);
}

static void expect_nft_error(const char *text, int code, unsigned line, const char *msg_part)
{
	struct coll_set s = { 0 };
	struct vg_error err;
	char msg[1024];

	vg_error_clear(&err);
	assert_int_equal(coll_firewall_parse_nft(text, &s, &err), code);
	assert_string_equal(err.file, "nft");
	assert_int_equal(err.line, line);
	vg_error_format(&err, msg, sizeof(msg));
	if (!strstr(msg, msg_part))
		fail_msg("'%s' lacks '%s'", msg, msg_part);
	coll_set_release(&s);
}

static void test_nft_malformed(void **state)
{
	(void)state;
	expect_nft_error("tabel inet f {\n}\n", -EINVAL, 1, "expected 'table FAMILY NAME {'");
	expect_nft_error("table inet f {\n\tchain c {\n\t\tdrop\n\t}\n", -EINVAL, 4,
			 "missing '}'");
	expect_nft_error("table inet f {\n}\n}\n", -EINVAL, 3, "found '}'");
	expect_nft_error("table inet f {\n\tchain {\n\t}\n}\n", -EINVAL, 2,
			 "expected 'TYPE NAME {'");
	expect_nft_error("table inet f {\n\tchain c {\n\t\tdrop }\n\t}\n}\n", -EINVAL, 3,
			 "unbalanced '}'");
	expect_nft_error("table inet f {\n\tset s {\n\t\telements = { 1,\n", -EINVAL, 3,
			 "missing '}'");
	expect_nft_error("table inet f {\n\tchain c {\n\t}\n\tchain c {\n\t}\n}\n", -EEXIST, 4,
			 "'inet f c' is listed twice");
	/* an empty ruleset is fine */
	{
		struct coll_set s = { 0 };
		struct vg_error err;

		assert_int_equal(coll_firewall_parse_nft("", &s, &err), 0);
		assert_int_equal(s.n, 0);
	}
}

static const struct expect ipt_expect[] = {
	{ "ip filter FORWARD", "{\"policy\":\"DROP\",\"rules\":[]}", "" },
	{ "ip filter INPUT",
	  "{\"policy\":\"DROP\",\"rules\":[\"-A INPUT -i lo -j ACCEPT\","
	  "\"-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\","
	  "\"-A INPUT -p tcp -m tcp --dport 22 -j f2b-sshd\"]}",
	  "-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j "
	  "ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j f2b-sshd\n" },
	{ "ip filter OUTPUT", "{\"policy\":\"ACCEPT\",\"rules\":[]}", "" },
	{ "ip filter f2b-sshd",
	  "{\"policy\":null,\"rules\":[\"-A f2b-sshd -s 192.0.2.10/32 -j REJECT "
	  "--reject-with icmp-port-unreachable\",\"-A f2b-sshd -j RETURN\"]}",
	  "-A f2b-sshd -s 192.0.2.10/32 -j REJECT --reject-with icmp-port-unreachable\n"
	  "-A f2b-sshd -j RETURN\n" },
	{ "ip nat INPUT", "{\"policy\":\"ACCEPT\",\"rules\":[]}", "" },
	{ "ip nat OUTPUT", "{\"policy\":\"ACCEPT\",\"rules\":[]}", "" },
	{ "ip nat POSTROUTING",
	  "{\"policy\":\"ACCEPT\",\"rules\":[\"-A POSTROUTING -o eth0 -j MASQUERADE\"]}",
	  "-A POSTROUTING -o eth0 -j MASQUERADE\n" },
	{ "ip nat PREROUTING", "{\"policy\":\"ACCEPT\",\"rules\":[]}", "" },
};

static void test_iptables_fixtures(void **state)
{
	static const char *const files[] = { "iptables-save.txt", "iptables-save-counters.txt" };
	struct coll_set s = { 0 };
	struct vg_error err;
	char msg[1024];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		char *text = read_fixture(files[f]);

		assert_int_equal(coll_firewall_parse_iptables(text, "ip", &s, &err), 0);
		check_set(&s, ipt_expect, sizeof(ipt_expect) / sizeof(ipt_expect[0]));
		coll_set_release(&s);
		free(text);
	}
	assert_int_equal(coll_firewall_parse_iptables("*filter\n:INPUT ACCEPT [0:0]\n"
						      "-A FORWARD -j DROP\nCOMMIT\n",
						      "ip6", &s, &err),
			 -EINVAL);
	vg_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "ip6tables-save:3: a rule for an undeclared chain");
	assert_int_equal(coll_firewall_parse_iptables("*filter\n:INPUT ACCEPT [0:0]\n", "ip",
						      &s, &err),
			 -EINVAL);
	vg_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "iptables-save:2: table 'filter' without COMMIT");
	assert_int_equal(coll_firewall_parse_iptables("-A INPUT -j DROP\n", "ip", &s, &err),
			 -EINVAL);
	assert_int_equal(err.line, 1);
	coll_set_release(&s);
}

static void test_nft_comments_and_caps(void **state)
{
	struct coll_set s = { 0 };
	struct vg_error err;
	struct buf t;
	const char *st;

	(void)state;
	/* nft's own warnings are comments */
	assert_int_equal(coll_firewall_parse_nft("# Warning: table ip filter is managed by "
						 "iptables-nft, do not touch!\n"
						 "table ip filter {\n\tchain INPUT {\n"
						 "\t\ttype filter hook input priority filter; "
						 "policy accept;\n"
						 "\t\tcounter packets 120 bytes 9600 jump f2b"
						 " # handle 7\n"
						 "\t}\n}\n",
						 &s, &err),
			 0);
	assert_string_equal(find_item(&s, "ip filter INPUT")->state,
			    "{\"comment\":null,\"device\":null,\"hook\":\"input\","
			    "\"policy\":\"accept\",\"priority\":\"filter\","
			    "\"rules\":[\"counter jump f2b\"],\"type\":\"filter\"}");
	coll_set_release(&s);

	/* a chain or a set too big for a state keeps its count and digest */
	buf_init(&t, 1 << 24);
	assert_int_equal(buf_puts(&t, "table inet big {\n\tset s {\n\t\ttype ipv4_addr\n"
				      "\t\telements = { "),
			 0);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_printf(&t, "%s10.%d.%d.1", i ? ",\n\t\t\t" : "", i / 256,
					    i % 256),
				 0);
	assert_int_equal(buf_puts(&t, " }\n\t}\n\tchain c {\n"), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(buf_printf(&t, "\t\tip saddr 10.1.%d.%d drop\n", i / 256,
					    i % 256),
				 0);
	assert_int_equal(buf_puts(&t, "\t}\n}\n"), 0);
	assert_int_equal(coll_firewall_parse_nft(t.data, &s, &err), 0);
	st = find_item(&s, "inet big set s")->state;
	assert_non_null(strstr(st, "\"elements\":null,\"elements_count\":10000,"
				   "\"elements_sha256\":\""));
	st = find_item(&s, "inet big c")->state;
	assert_non_null(strstr(st, "\"rules\":null,\"rules_count\":5000,\"rules_sha256\":\""));
	assert_true(strlen(find_item(&s, "inet big c")->text) > 100000);
	coll_set_release(&s);
	buf_release(&t);
}

/*
 * The whole path on a real kernel: in a network namespace of its own (root only), load
 * the ruleset the fixtures were printed from and collect it.
 */
static int netns_child(void)
{
	const char *data = getenv("TEST_DATA");
	char path[4096], *argv[] = { (char *)"/usr/sbin/nft", (char *)"-f", path, NULL };
	struct coll_opts o = { .root = "", .timeout_ns = 20LL * 1000 * 1000 * 1000 };
	struct proc_result run = { 0 };
	struct coll_set s = { 0 };
	struct vg_error err;
	int bad = 0;

	if (unshare(CLONE_NEWNET) < 0)
		return 77;
	if (access(argv[0], X_OK) != 0)
		argv[0] = (char *)"/sbin/nft";
	snprintf(path, sizeof(path), "%s/collect/text/nft-ruleset.nft", data);
	if (proc_run(&(struct proc_opts){ .argv = argv, .timeout_ns = 20LL * 1000 * 1000 * 1000 },
		     &run) < 0 ||
	    !WIFEXITED(run.wait_status) || WEXITSTATUS(run.wait_status) != 0) {
		fprintf(stderr, "nft -f: %s\n", run.output ? run.output : "cannot run");
		return 1;
	}
	proc_result_release(&run);
	if (coll_firewall_collect(&o, &s, &err) != 0) {
		fprintf(stderr, "collect: %s\n", err.msg);
		return 1;
	}
	coll_set_sort(&s);
	if (s.n != sizeof(nft_expect) / sizeof(nft_expect[0])) {
		fprintf(stderr, "%zu objects\n", s.n);
		return 1;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (strcmp(s.items[i].key, nft_expect[i].key) != 0 ||
		    strcmp(s.items[i].state, nft_expect[i].state) != 0) {
			fprintf(stderr, "%s: %s\n", s.items[i].key, s.items[i].state);
			bad = 1;
		}
	}
	coll_set_release(&s);
	return bad;
}

static void test_firewall_netns(void **state)
{
	int st = 0;
	pid_t pid;

	(void)state;
	if (geteuid() != 0 ||
	    (access("/usr/sbin/nft", X_OK) != 0 && access("/sbin/nft", X_OK) != 0))
		skip();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(netns_child());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_firewall_live(void **state)
{
	struct coll_opts o = { .root = "", .timeout_ns = 20LL * 1000 * 1000 * 1000 };
	struct coll_set s = { 0 };
	struct vg_error err;
	char msg[1024];
	int r;

	(void)state;
	vg_error_clear(&err);
	r = coll_firewall_collect(&o, &s, &err);
	vg_error_format(&err, msg, sizeof(msg));
	if (r != 0)
		fail_msg("firewall: %d %s", r, msg);
	/* whatever the machine has, every chain has rules and every key three words or more */
	for (size_t i = 0; i < s.n; i++) {
		assert_non_null(strchr(s.items[i].key, ' '));
		assert_true(s.items[i].state[0] == '{');
	}
	if (access("/usr/sbin/nft", X_OK) != 0 && access("/sbin/nft", X_OK) != 0 &&
	    access("/usr/sbin/iptables-save", X_OK) != 0 &&
	    access("/sbin/iptables-save", X_OK) != 0 &&
	    access("/usr/sbin/ip6tables-save", X_OK) != 0 &&
	    access("/sbin/ip6tables-save", X_OK) != 0)
		assert_int_equal(s.n, 0);
	coll_set_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_fixtures),
		cmocka_unit_test(test_diff_small),
		cmocka_unit_test(test_diff_large),
		cmocka_unit_test(test_redact_values),
		cmocka_unit_test(test_redact_blocks_and_words),
		cmocka_unit_test(test_redact_leaves),
		cmocka_unit_test(test_redact_deterministic_and_capped),
		cmocka_unit_test(test_exec_state),
		cmocka_unit_test(test_exec_exit_and_secret),
		cmocka_unit_test(test_exec_big),
		cmocka_unit_test(test_exec_failures),
		cmocka_unit_test(test_nft_fixtures),
		cmocka_unit_test(test_nft_change_shows),
		cmocka_unit_test(test_nft_malformed),
		cmocka_unit_test(test_iptables_fixtures),
		cmocka_unit_test(test_nft_comments_and_caps),
		cmocka_unit_test(test_firewall_netns),
		cmocka_unit_test(test_firewall_live),
	};
	int r1 = cmocka_run_group_tests(tests, exec_setup, exec_teardown);

	return r1;
}
