/*
 * Unit tests for collect/coll-package.c: the package and repo collectors against the
 * fixture tree in tests/data/collect/package/root (dpkg status, apt lists plain, gzip and
 * lz4, rotated dpkg logs, sources in both formats, keyrings exported by gpg), against
 * small trees built in a temporary directory for the errors and caps, and against the
 * machine the tests run on.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <dirent.h>

#include "base/proc.h"
#include "collect/collect.h"

#define ALPHA "E4FB1A6ECAD3900DBEFFD5FCEF834BD334561812"
#define ALPHA_SUB "79DF794274AD12BF6D2F3CDF71E89FC0128EE0E4"
#define BETA "B66EA11D85B12C9AB80579462C9D5C7D9A3BB042"
#define GAMMA "DB1FB93B199AA93CFFE15903E8827E35FDD842B6"

struct expect {
	const char *key;
	const char *state;
};

static const char *fixture_root(void)
{
	static char root[4096];
	const char *d = getenv("TEST_DATA");

	assert_non_null(d);
	snprintf(root, sizeof(root), "%s/collect/package/root", d);
	return root;
}

static void check_set(const struct coll_set *s, const struct expect *e, size_t n)
{
	for (size_t i = 0; i < s->n && i < n; i++) {
		assert_string_equal(s->items[i].key, e[i].key);
		assert_string_equal(s->items[i].state, e[i].state);
		assert_null(s->items[i].text);
	}
	assert_int_equal(s->n, n);
}

/* ---- temporary trees ---- */

static char *tmp_root(void)
{
	char *d = strdup("/tmp/vigil-pkg.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void tmp_remove(char *root)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

static void mkparents(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
}

static void put_bytes(const char *root, const char *rel, const void *data, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	mkparents(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void put(const char *root, const char *rel, const char *text)
{
	put_bytes(root, rel, text, strlen(text));
}

/* Copies a file of the fixture tree to rel below root. */
static void copy_fixture(const char *root, const char *from, const char *rel)
{
	char path[4096], *data;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", fixture_root(), from);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	put_bytes(root, rel, data, (size_t)n);
	free(data);
}

static void set_mtime(const char *root, const char *rel, time_t sec, long nsec)
{
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
	char path[4096];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

typedef int (*collect_fn)(const struct coll_opts *, struct coll_set *, struct vg_error *);

/* Collecting from root fails with code, naming file (and line when not 0). */
static void expect_error(collect_fn fn, const char *root, int code, const char *file,
			 unsigned line, const char *msg_part)
{
	struct coll_opts o = { .root = root };
	struct coll_set s = { 0 };
	struct vg_error err;
	int r;

	vg_error_clear(&err);
	r = fn(&o, &s, &err);
	if (r != code)
		fail_msg("expected %d, got %d (%s:%u: %s)", code, r, err.file, err.line, err.msg);
	assert_string_equal(err.file, file);
	assert_int_equal(err.line, line);
	if (msg_part && !strstr(err.msg, msg_part))
		fail_msg("message '%s' lacks '%s'", err.msg, msg_part);
	coll_set_release(&s);
}

static void collect_ok(collect_fn fn, const char *root, struct coll_set *s)
{
	struct coll_opts o = { .root = root };
	struct vg_error err;
	int r;

	vg_error_clear(&err);
	r = fn(&o, s, &err);
	if (r != 0)
		fail_msg("collect failed (%d) %s:%u: %s", r, err.file, err.line, err.msg);
}

/* ---- package ---- */

#define PKG(v, st, org, t)                                                                         \
	"{\"installed\":" t ",\"origin\":" org ",\"status\":\"" st "\",\"version\":\"" v "\"}"
#define INSTALLED "install ok installed"

static void test_packages_fixture(void **state)
{
	static const struct expect want[] = {
		{ "base-files:amd64",
		  PKG("12.4", INSTALLED, "\"Debian/bookworm\"", "\"2024-06-08T12:00:00.000000Z\"") },
		{ "halfway:amd64",
		  PKG("2.0-1", "install reinstreq half-installed", "\"Debian/bookworm-updates\"",
		      "null") },
		{ "libfoo1:amd64",
		  PKG("1.2-3", INSTALLED, "\"Debian/bookworm\"", "\"2024-02-01T10:00:00.000000Z\"") },
		{ "libfoo1:i386",
		  PKG("1.2-3", INSTALLED, "\"Debian/bookworm\"", "\"2024-02-01T10:00:01.000000Z\"") },
		{ "localtool:amd64", PKG("0.9-local", INSTALLED, "null", "null") },
		{ "oldpkg:amd64",
		  PKG("1.0-1", "deinstall ok config-files", "\"Debian/bookworm\"",
		      "\"2023-11-01T07:00:00.000000Z\"") },
		{ "openssl:amd64",
		  PKG("3.0.15-1~deb12u1", INSTALLED, "\"Debian/bookworm-security\"",
		      "\"2024-06-07T12:00:00.000000Z\"") },
		{ "tzdata:all",
		  PKG("2024a-0+deb12u1", INSTALLED, "\"Debian/bookworm\"",
		      "\"2024-02-01T10:00:00.000000Z\"") },
	};
	struct coll_set s = { 0 };

	collect_ok(coll_package_collect, fixture_root(), &s);
	check_set(&s, want, sizeof(want) / sizeof(want[0]));
	coll_set_release(&s);
}

static const char status_ab[] = "Package: pkg-a\n"
				"Status: install ok installed\n"
				"Multi-Arch: same\n"
				"Architecture: amd64\n"
				"Version: 1:2.0~rc1-1\n"
				"\n"
				"Package: pkg-b\n"
				"Status: install ok unpacked\n"
				"Architecture: amd64\n"
				"Version: 3\n";

/* Without a log line, the time is that of the package's file list, arch-qualified first. */
static void test_packages_list_mtime(void **state)
{
	static const struct expect want[] = {
		{ "pkg-a:amd64",
		  PKG("1:2.0~rc1-1", INSTALLED, "null", "\"2023-11-14T22:13:20.123456Z\"") },
		{ "pkg-b:amd64",
		  PKG("3", "install ok unpacked", "\"X/s\"", "\"2001-09-09T01:46:40.000000Z\"") },
	};
	char *root = tmp_root();
	struct coll_set s = { 0 };

	put(root, "/var/lib/dpkg/status", status_ab);
	put(root, "/var/lib/dpkg/info/pkg-a:amd64.list", "/.\n/usr\n");
	put(root, "/var/lib/dpkg/info/pkg-a.list", "/.\n");
	put(root, "/var/lib/dpkg/info/pkg-b.list", "/.\n");
	set_mtime(root, "/var/lib/dpkg/info/pkg-a:amd64.list", 1700000000, 123456789);
	set_mtime(root, "/var/lib/dpkg/info/pkg-a.list", 1500000000, 0);
	set_mtime(root, "/var/lib/dpkg/info/pkg-b.list", 1000000000, 0);
	/* apt escapes a port's colon in list names */
	put(root, "/var/lib/apt/lists/h%3a8080_d_dists_s_Release", "Origin: X\nSuite: s\n");
	put(root, "/var/lib/apt/lists/h%3a8080_d_dists_s_main_binary-amd64_Packages",
	    "Package: pkg-b\nVersion: 3\nArchitecture: amd64\n");
	/* a log line for another version does not count */
	put(root, "/var/log/dpkg.log", "2024-01-01 00:00:00 status installed pkg-b:amd64 2\n");
	collect_ok(coll_package_collect, root, &s);
	check_set(&s, want, 2);
	coll_set_release(&s);
	/* the same tree gives the same states */
	collect_ok(coll_package_collect, root, &s);
	check_set(&s, want, 2);
	coll_set_release(&s);
	tmp_remove(root);
}

static void test_packages_absent(void **state)
{
	char *root = tmp_root();
	struct coll_set s = { 0 };

	collect_ok(coll_package_collect, root, &s);
	assert_int_equal(s.n, 0);
	tmp_remove(root);
}

static void status_error(const char *text, unsigned line, const char *msg)
{
	char *root = tmp_root();

	put(root, "/var/lib/dpkg/status", text);
	expect_error(coll_package_collect, root, -EINVAL, "/var/lib/dpkg/status", line, msg);
	tmp_remove(root);
}

static void test_packages_errors(void **state)
{
	char *root;
	char *big;

	status_error("Package: a\nStatus: install ok installed\nno colon here\n", 3,
		     "malformed line");
	status_error(" leading continuation\n", 1, "continuation line outside a stanza");
	status_error("\n\nStatus: install ok installed\nVersion: 1\n", 3,
		     "without a Package field");
	status_error("Package: a\nArchitecture: amd64\n", 1, "no Status field");
	status_error("Package: a\nStatus: install ok\n", 2, "malformed Status");
	status_error("Package: a\nStatus: install ok installed\nStatus: install ok installed\n",
		     3, "repeated");
	status_error("Package: A/b\nStatus: install ok installed\n", 1, "invalid package name");
	status_error("Package: a\nStatus: install ok installed\nArchitecture: amd 64\n", 3,
		     "invalid architecture");
	status_error("Package: a\nStatus: install ok installed\n: empty name\n", 3,
		     "malformed line");

	root = tmp_root();
	put(root, "/var/lib/dpkg/status",
	    "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\n"
	    "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n");
	expect_error(coll_package_collect, root, -EEXIST, "/var/lib/dpkg/status", 6,
		     "listed twice");
	/* a malformed apt list (of an archive with a Release) names the list and line */
	put(root, "/var/lib/dpkg/status",
	    "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n");
	put(root, "/var/lib/apt/lists/x_dists_s_Release", "Origin: X\nSuite: s\n");
	put(root, "/var/lib/apt/lists/x_dists_s_main_binary-amd64_Packages",
	    "Package: a\nVersion: 1\nArchitecture: amd64\n\nbroken\n");
	expect_error(coll_package_collect, root, -EINVAL,
		     "/var/lib/apt/lists/x_dists_s_main_binary-amd64_Packages", 5,
		     "malformed line");
	/* a list that claims to be compressed and is not */
	put(root, "/var/lib/apt/lists/x_dists_s_main_binary-amd64_Packages", "");
	put(root, "/var/lib/apt/lists/x_dists_s_main_binary-i386_Packages.lz4",
	    "Package: a\nbroken\n");
	expect_error(coll_package_collect, root, -EINVAL,
		     "/var/lib/apt/lists/x_dists_s_main_binary-i386_Packages.lz4", 2, NULL);
	/* cap: a line longer than 1 MiB */
	big = malloc((1u << 20) + 64);
	assert_non_null(big);
	memcpy(big, "Package: a\nDescription: ", 24);
	memset(big + 24, 'x', (1u << 20) + 8);
	memcpy(big + 24 + (1u << 20) + 8, "\n", 2);
	put(root, "/var/lib/dpkg/status", big);
	free(big);
	expect_error(coll_package_collect, root, -E2BIG, "/var/lib/dpkg/status", 2,
		     "line longer than");
	tmp_remove(root);
}

/* ---- repo ---- */

#define REPO(type, uri, suite, comps, file, fprs)                                                  \
	"{\"components\":[" comps "],\"file\":\"" file "\",\"signed_by\":[" fprs                   \
	"],\"suite\":\"" suite "\",\"trusted\":false,\"type\":\"" type "\",\"uri\":\"" uri "\"}"
#define Q(x) "\"" x "\""
#define SL "/etc/apt/sources.list"
#define TWO "/etc/apt/sources.list.d/two.sources"

static void test_repos_fixture(void **state)
{
	static const struct expect want[] = {
		{ "deb http://deb.example.org/debian stable",
		  REPO("deb", "http://deb.example.org/debian", "stable", Q("contrib") "," Q("main"),
		       SL, Q(GAMMA) "," Q(ALPHA)) },
		{ "deb http://deb.example.org/debian-security stable-security",
		  REPO("deb", "http://deb.example.org/debian-security", "stable-security",
		       Q("main") "," Q("non-free"), SL, Q(BETA) "," Q(ALPHA)) },
		{ "deb http://mirror.example.net/debian stable",
		  REPO("deb", "http://mirror.example.net/debian", "stable", Q("main"), TWO,
		       Q(BETA) "," Q(ALPHA)) },
		{ "deb http://mirror.example.net/debian stable-updates",
		  REPO("deb", "http://mirror.example.net/debian", "stable-updates", Q("main"), TWO,
		       Q(BETA) "," Q(ALPHA)) },
		{ "deb https://a.example.net/x bookworm",
		  REPO("deb", "https://a.example.net/x", "bookworm", Q("main"), TWO, Q(BETA)) },
		{ "deb https://b.example.net/x bookworm",
		  REPO("deb", "https://b.example.net/x", "bookworm", Q("main"), TWO, Q(BETA)) },
		{ "deb https://inline.example.net/repo trixie",
		  REPO("deb", "https://inline.example.net/repo", "trixie",
		       Q("contrib") "," Q("main"), TWO, Q(GAMMA)) },
		{ "deb https://subkey.example.net/repo bookworm",
		  REPO("deb", "https://subkey.example.net/repo", "bookworm", Q("main"), TWO,
		       Q(ALPHA)) },
		{ "deb https://user@repo.example.com/apt ./",
		  REPO("deb", "https://user@repo.example.com/apt", "./", "",
		       "/etc/apt/sources.list.d/beta.list", Q(BETA)) },
		{ "deb-src http://deb.example.org/debian stable",
		  REPO("deb-src", "http://deb.example.org/debian", "stable", Q("main"), SL,
		       Q(GAMMA) "," Q(ALPHA)) },
		{ "deb-src http://mirror.example.net/debian stable",
		  REPO("deb-src", "http://mirror.example.net/debian", "stable", Q("main"), TWO,
		       Q(BETA) "," Q(ALPHA)) },
		{ "deb-src http://mirror.example.net/debian stable-updates",
		  REPO("deb-src", "http://mirror.example.net/debian", "stable-updates", Q("main"),
		       TWO, Q(BETA) "," Q(ALPHA)) },
	};
	struct coll_set s = { 0 };

	collect_ok(coll_repo_collect, fixture_root(), &s);
	check_set(&s, want, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < s.n; i++)
		assert_null(strstr(s.items[i].state, "hunter2"));
	coll_set_release(&s);
}

/* trusted=yes (one-line) and Trusted: yes (deb822): apt checks no signature, said so */
static void test_repos_trusted(void **state)
{
	char *root = tmp_root();
	struct coll_set s = { 0 };

	put(root, SL, "deb [trusted=yes] http://h/t s main\ndeb http://h/u s main\n");
	put(root, "/etc/apt/sources.list.d/v.sources",
	    "Types: deb\nURIs: http://h/v\nSuites: s\nComponents: main\nTrusted: yes\n");
	collect_ok(coll_repo_collect, root, &s);
	assert_int_equal(s.n, 3);
	assert_non_null(strstr(s.items[0].state, "\"trusted\":true"));
	assert_non_null(strstr(s.items[1].state, "\"trusted\":false"));
	assert_non_null(strstr(s.items[2].state, "\"trusted\":true"));
	coll_set_release(&s);
	tmp_remove(root);
}

/* Duplicate entries merge; trusted.gpg counts; a missing keyring trusts nothing. */
static void test_repos_merge_defaults(void **state)
{
	static const struct expect want[] = {
		{ "deb http://h/d s",
		  REPO("deb", "http://h/d", "s", Q("a") "," Q("b") "," Q("c"), SL,
		       Q(BETA) "," Q(GAMMA)) },
		{ "deb http://h/e s",
		  REPO("deb", "http://h/e", "s", Q("main"), SL, Q(BETA) "," Q(GAMMA)) },
		{ "deb http://h/f s",
		  REPO("deb", "http://h/f", "s", Q("main"), "/etc/apt/sources.list.d/m.sources",
		       "") },
	};
	char *root = tmp_root();
	struct coll_set s = { 0 };

	put(root, SL,
	    "deb [ arch=amd64 ] http://h/d s b a # c [ x ]\n"
	    "deb http://h/e s main\n");
	put(root, "/etc/apt/sources.list.d/z.list", "deb http://h/d s c a\n");
	put(root, "/etc/apt/sources.list.d/m.sources",
	    "Types: deb\nURIs: http://h/f\nSuites: s\nComponents: main\n"
	    "Signed-By: /nonexistent.gpg\n");
	copy_fixture(root, "/usr/share/keyrings/beta.asc", "/etc/apt/trusted.gpg.d/beta.asc");
	copy_fixture(root, "/etc/apt/trusted.gpg.d/gamma.gpg", "/etc/apt/trusted.gpg");
	collect_ok(coll_repo_collect, root, &s);
	check_set(&s, want, 3);
	coll_set_release(&s);
	tmp_remove(root);
}

static void sources_error(const char *rel, const char *text, unsigned line, const char *msg)
{
	char *root = tmp_root();

	put(root, rel, text);
	copy_fixture(root, "/etc/apt/trusted.gpg.d/gamma.gpg", "/etc/apt/trusted.gpg");
	expect_error(coll_repo_collect, root, -EINVAL, rel, line, msg);
	tmp_remove(root);
}

static void test_repos_errors(void **state)
{
	const char *srcs = "/etc/apt/sources.list.d/x.sources";

	sources_error(SL, "# ok\ndeb http://h/d s main\nrpm http://h/d s main\n", 3,
		      "unknown type 'rpm'");
	sources_error(SL, "deb http://h/d\n", 1, "missing suite");
	sources_error(SL, "deb\n", 1, "missing URI");
	sources_error(SL, "deb http://h/d s\n", 1, "missing components");
	sources_error(SL, "deb [arch=amd64 http://h/d s main\n", 1, "unterminated option list");
	sources_error(SL, "deb [trusted] http://h/d s main\n", 1, "malformed option");
	sources_error(SL, "deb [signed-by=keyring.gpg] http://h/d s main\n", 1,
		      "neither an absolute path nor a fingerprint");
	sources_error(srcs, "Types: deb\nURIs: http://h/d\nComponents: main\n", 1,
		      "stanza without Suites");
	sources_error(srcs, "\nTypes: deb\nURIs: http://h/d\nSuites: s\n", 2,
		      "stanza without Components");
	sources_error(srcs,
		      "Types: deb\nURIs: http://h/d\nSuites: s\nComponents: a\nEnabled: maybe\n", 5,
		      "invalid Enabled value");
	sources_error(srcs, "Types: deb rpm\nURIs: http://h/d\nSuites: s\nComponents: a\n", 1,
		      "unknown type 'rpm'");
	sources_error(srcs, "Types deb\n", 1, "malformed line");
	/* an inline key whose armor is damaged names the Signed-By line */
	sources_error(srcs,
		      "Types: deb\nURIs: http://h/d\nSuites: s\nComponents: a\nSigned-By:\n"
		      " -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mDMEawl7JhYJ\n",
		      5, "not terminated");
}

/* A keyring that cannot be parsed is an error naming it (and the line, when armored). */
static void keyring_error(const void *data, size_t n, unsigned line, const char *msg)
{
	char *root = tmp_root();

	put(root, SL, "deb http://h/d s main\n");
	put_bytes(root, "/etc/apt/trusted.gpg.d/bad.gpg", data, n);
	expect_error(coll_repo_collect, root, n > 40000 ? -E2BIG : -EINVAL,
		     "/etc/apt/trusted.gpg.d/bad.gpg", line, msg);
	tmp_remove(root);
}

static void test_keyring_errors(void **state)
{
	static const uint8_t truncated[] = { 0x99, 0x00, 0x33, 0x04, 0x01 };
	static const uint8_t partial[] = { 0xc6, 0xe1, 0x04, 0x00 };
	static const uint8_t indeterminate[] = { 0x9b, 0x04, 0x00 };
	static const uint8_t secret[] = { 0x95, 0x00, 0x06, 4, 0, 0, 0, 0, 22 };
	static const uint8_t version9[] = { 0x99, 0x00, 0x06, 9, 0, 0, 0, 0, 22 };
	static const uint8_t orphan_sub[] = { 0xb9, 0x00, 0x06, 4, 0, 0, 0, 0, 18 };
	static const uint8_t keybox[] = { 0, 0, 0, 32, 1, 1, 0, 0, 'K', 'B', 'X', 'f', 0, 0 };
	static const char bad_crc[] =
		"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
		"mDMEawl7JhYJKwYBBAHaRw8BAQdA+M2pZ3MVGMlHjhb2pci4IJL3bTdsDXE7foAp\n"
		"=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n";
	static const char bad_char[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
				       "mDMEaw*l7JhY\n-----END PGP PUBLIC KEY BLOCK-----\n";
	uint8_t *many;
	size_t n = 0;

	keyring_error(truncated, sizeof(truncated), 0, "truncated packet");
	keyring_error(partial, sizeof(partial), 0, "partial-length");
	keyring_error(indeterminate, sizeof(indeterminate), 0, "indeterminate length");
	keyring_error(secret, sizeof(secret), 0, "secret key");
	keyring_error(version9, sizeof(version9), 0, "unsupported key packet");
	keyring_error(orphan_sub, sizeof(orphan_sub), 0, "subkey before any primary key");
	keyring_error(keybox, sizeof(keybox), 0, "keybox");
	keyring_error(bad_crc, strlen(bad_crc), 1, "armor checksum mismatch");
	keyring_error(bad_char, strlen(bad_char), 3, "invalid character");
	keyring_error("plain text\n", 11, 0, "no OpenPGP public key block");
	/* cap: more keys than a keyring may hold */
	many = malloc(5000 * 9);
	assert_non_null(many);
	for (unsigned i = 0; i < 5000; i++) {
		const uint8_t k[] = { 0x99, 0, 6, 4, (uint8_t)(i >> 8), (uint8_t)i, 0, 0, 22 };

		memcpy(many + n, k, sizeof(k));
		n += sizeof(k);
	}
	keyring_error(many, n, 0, "more than 4096 keys");
	free(many);
}

/* A key of version 3 is left out, with its packets, as gpg leaves it out. */
static void test_keyring_v3_skipped(void **state)
{
	static const uint8_t v3[] = { 0x99, 0x00, 0x08, 3, 0, 0, 0, 0, 0, 0, 1,
				      0xb4, 0x01, 'x' };
	static const struct expect want[] = {
		{ "deb http://h/d s", REPO("deb", "http://h/d", "s", Q("main"), SL, Q(GAMMA)) },
	};
	char *root = tmp_root();
	struct coll_set s = { 0 };

	put(root, SL, "deb http://h/d s main\n");
	put_bytes(root, "/etc/apt/trusted.gpg.d/old.gpg", v3, sizeof(v3));
	copy_fixture(root, "/etc/apt/trusted.gpg.d/gamma.gpg", "/etc/apt/trusted.gpg.d/g.gpg");
	put(root, "/etc/apt/trusted.gpg.d/empty.gpg", "");
	collect_ok(coll_repo_collect, root, &s);
	check_set(&s, want, 1);
	coll_set_release(&s);
	tmp_remove(root);
}

static int cmp_fpr(const void *a, const void *b)
{
	return strcmp(a, b);
}

#define GPG_FPRS_MAX 64

/* The keyring at path (absolute) gives the primary fingerprints gpg lists for it. */
static void compare_with_gpg(const char *path)
{
	char gpg[] = "/usr/bin/gpg", *root = tmp_root(), home[4200], envhome[4300];
	char line[8400], *want, *argv[] = { gpg, (char *)"--batch", (char *)"--with-colons",
					    (char *)"--show-keys", (char *)path, NULL };
	char *envp[] = { envhome, (char *)"LC_ALL=C", NULL };
	struct proc_opts po = { .argv = argv, .envp = envp, .stderr_null = true,
				.timeout_ns = 60ll * 1000000000, .capture_max = 4u << 20 };
	struct proc_result pr = { 0 };
	struct coll_set s = { 0 };
	char fprs[GPG_FPRS_MAX][65];
	bool after_pub = false;
	size_t nf = 0, wl = 0, wcap = GPG_FPRS_MAX * 70 + 32;

	snprintf(home, sizeof(home), "%s/gnupg", root);
	assert_int_equal(mkdir(home, 0700), 0);
	snprintf(envhome, sizeof(envhome), "GNUPGHOME=%s", home);
	assert_int_equal(proc_run(&po, &pr), 0);
	assert_false(pr.timed_out);
	assert_false(pr.truncated);
	/* "pub:..." then "fpr:::::::::FPR:" is a primary key */
	for (char *save = NULL, *l = strtok_r(pr.output, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "pub:", 4) == 0) {
			after_pub = true;
		} else if (strncmp(l, "fpr:", 4) == 0 && after_pub) {
			assert_true(nf < GPG_FPRS_MAX);
			snprintf(fprs[nf++], sizeof(fprs[0]), "%.*s",
				 (int)strcspn(l + 12, ":"), l + 12);
			after_pub = false;
		}
	}
	proc_result_release(&pr);
	qsort(fprs, nf, sizeof(fprs[0]), cmp_fpr);
	want = malloc(wcap);
	assert_non_null(want);
	wl = (size_t)snprintf(want, wcap, "\"signed_by\":[");
	for (size_t k = 0; k < nf; k++)
		if (k == 0 || strcmp(fprs[k], fprs[k - 1]) != 0)
			wl += (size_t)snprintf(want + wl, wcap - wl, "%s\"%s\"", k ? "," : "",
					       fprs[k]);
	snprintf(want + wl, wcap - wl, "]");

	snprintf(line, sizeof(line), "deb [signed-by=/k/ring] http://h/d s main\n");
	put(root, SL, line);
	{
		FILE *f = fopen(path, "rb");
		char *data = malloc(16u << 20);
		size_t n;

		assert_non_null(f);
		assert_non_null(data);
		n = fread(data, 1, 16u << 20, f);
		fclose(f);
		put_bytes(root, "/k/ring", data, n);
		free(data);
	}
	collect_ok(coll_repo_collect, root, &s);
	assert_int_equal(s.n, 1);
	if (!strstr(s.items[0].state, want))
		fail_msg("%s: gpg lists %s, collected %s", path, want, s.items[0].state);
	coll_set_release(&s);
	free(want);
	tmp_remove(root);
}

static bool keyring_file(const char *n)
{
	size_t l = strlen(n);

	return l > 4 && (strcmp(n + l - 4, ".gpg") == 0 || strcmp(n + l - 4, ".asc") == 0);
}

/* The fingerprints of each fixture keyring, and of the machine's, as gpg lists them. */
static void test_keyrings_match_gpg(void **state)
{
	static const char *const rings[] = { "/usr/share/keyrings/alpha-beta.gpg",
					     "/usr/share/keyrings/beta.asc",
					     "/etc/apt/trusted.gpg.d/alpha.asc",
					     "/etc/apt/trusted.gpg.d/gamma.gpg" };
	static const char *const dirs[] = { "/usr/share/keyrings", "/etc/apt/trusted.gpg.d",
					    "/etc/apt/keyrings" };
	char path[4200];
	unsigned real = 0;

	if (access("/usr/bin/gpg", X_OK) != 0)
		skip();
	for (size_t i = 0; i < sizeof(rings) / sizeof(rings[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", fixture_root(), rings[i]);
		compare_with_gpg(path);
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct dirent **names = NULL;
		int n = scandir(dirs[i], &names, NULL, alphasort);

		for (int k = 0; k < n; k++) {
			if (keyring_file(names[k]->d_name) && real < 40) {
				snprintf(path, sizeof(path), "%s/%s", dirs[i], names[k]->d_name);
				compare_with_gpg(path);
				real++;
			}
			free(names[k]);
		}
		free(names);
	}
	print_message("compared %u keyrings of this machine with gpg\n", real);
}

/* Symbolic links to keyrings (as Ubuntu's trusted.gpg.d has) resolve below the root. */
static void test_keyring_symlink(void **state)
{
	static const struct expect want[] = {
		{ "deb http://h/d s", REPO("deb", "http://h/d", "s", Q("main"), SL, Q(BETA)) },
	};
	char *root = tmp_root(), lnk[4200];
	struct coll_set s = { 0 };

	put(root, SL, "deb http://h/d s main\n");
	copy_fixture(root, "/usr/share/keyrings/beta.asc", "/usr/share/keyrings/b.asc");
	snprintf(lnk, sizeof(lnk), "%s/etc/apt/trusted.gpg.d", root);
	assert_int_equal(mkdir(lnk, 0755), 0);
	snprintf(lnk, sizeof(lnk), "%s/etc/apt/trusted.gpg.d/b.asc", root);
	assert_int_equal(symlink("/usr/share/keyrings/b.asc", lnk), 0);
	collect_ok(coll_repo_collect, root, &s);
	check_set(&s, want, 1);
	coll_set_release(&s);
	tmp_remove(root);
}

/* ---- the machine itself ---- */

static void test_real_machine(void **state)
{
	char dpkg[] = "/usr/bin/dpkg", key[128];
	char *argv[] = { dpkg, (char *)"--print-architecture", NULL };
	struct proc_opts po = { .argv = argv, .stderr_null = true,
				.timeout_ns = 30ll * 1000000000 };
	struct proc_result pr = { 0 };
	struct coll_set s = { 0 }, again = { 0 };
	bool found = false;

	if (access("/var/lib/dpkg/status", R_OK) != 0 || access(dpkg, X_OK) != 0)
		skip();
	assert_int_equal(proc_run(&po, &pr), 0);
	assert_true(pr.output_len > 1);
	pr.output[strcspn(pr.output, "\n")] = '\0';
	snprintf(key, sizeof(key), "dpkg:%s", pr.output);
	proc_result_release(&pr);

	collect_ok(coll_package_collect, "", &s);
	assert_true(s.n > 10);
	for (size_t i = 0; i < s.n; i++) {
		if (strcmp(s.items[i].key, key) != 0)
			continue;
		found = true;
		assert_non_null(strstr(s.items[i].state, "\"status\":\"install ok installed\""));
		assert_null(strstr(s.items[i].state, "\"version\":\"\""));
		assert_null(strstr(s.items[i].state, "\"version\":null"));
		assert_non_null(strstr(s.items[i].state, "\"version\":\""));
	}
	if (!found)
		fail_msg("no package '%s'", key);
	/* a second run gives byte-identical states */
	collect_ok(coll_package_collect, "", &again);
	assert_int_equal(again.n, s.n);
	for (size_t i = 0; i < s.n; i++) {
		assert_string_equal(again.items[i].key, s.items[i].key);
		assert_string_equal(again.items[i].state, s.items[i].state);
	}
	coll_set_release(&s);
	coll_set_release(&again);

	collect_ok(coll_repo_collect, "", &s);
	for (size_t i = 0; i < s.n; i++) {
		assert_true(strncmp(s.items[i].key, "deb ", 4) == 0 ||
			    strncmp(s.items[i].key, "deb-src ", 8) == 0);
		assert_non_null(strstr(s.items[i].state, "\"file\":\"/etc/apt/sources.list"));
	}
	collect_ok(coll_repo_collect, "", &again);
	assert_int_equal(again.n, s.n);
	for (size_t i = 0; i < s.n; i++)
		assert_string_equal(again.items[i].state, s.items[i].state);
	coll_set_release(&s);
	coll_set_release(&again);
}

/* The caps on packages, entries and directory sizes are reached and reported. */
static void test_caps(void **state)
{
	char *root = tmp_root(), *text, name[64];
	size_t cap = 64u << 20, n = 0;

	text = malloc(cap);
	assert_non_null(text);
	for (unsigned i = 0; i <= 200000; i++)
		n += (size_t)snprintf(text + n, cap - n,
				      "Package: p%u\nStatus: install ok installed\n\n", i);
	put(root, "/var/lib/dpkg/status", text);
	expect_error(coll_package_collect, root, -E2BIG, "/var/lib/dpkg/status", 600001,
		     "more than 200000 packages");
	n = 0;
	for (unsigned i = 0; i <= 4096; i++)
		n += (size_t)snprintf(text + n, cap - n, "deb-src http://h/%u s main\n", i);
	put(root, SL, text);
	free(text);
	put(root, "/etc/apt/trusted.gpg", "");
	expect_error(coll_repo_collect, root, -E2BIG, SL, 4097, "more than 4096 entries");
	put(root, SL, "");
	for (unsigned i = 0; i <= 10000; i++) {
		snprintf(name, sizeof(name), "/etc/apt/sources.list.d/%05u.list", i);
		put(root, name, "");
	}
	expect_error(coll_repo_collect, root, -E2BIG, "/etc/apt/sources.list.d", 0,
		     "more than 10000 entries");
	tmp_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packages_fixture),
		cmocka_unit_test(test_packages_list_mtime),
		cmocka_unit_test(test_packages_absent),
		cmocka_unit_test(test_packages_errors),
		cmocka_unit_test(test_repos_fixture),
		cmocka_unit_test(test_repos_trusted),
		cmocka_unit_test(test_repos_merge_defaults),
		cmocka_unit_test(test_repos_errors),
		cmocka_unit_test(test_keyring_errors),
		cmocka_unit_test(test_keyring_v3_skipped),
		cmocka_unit_test(test_keyrings_match_gpg),
		cmocka_unit_test(test_keyring_symlink),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_real_machine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
