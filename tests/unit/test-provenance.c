/*
 * The provenance chain against a real signed apt repository, built once per run with
 * tests/data/aptrepo.sh (gpg, dpkg-deb, apt-ftparchive), and a fabricated root holding
 * the dpkg database, dpkg.log, apt's lists and sources as apt and dpkg would leave them.
 * Each case copies that root and breaks one link of the chain.
 *
 * The pure parsers (sources, apt's file names, dpkg.log lines, gpgv status) are tested
 * directly through change/prov-int.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fileio.h"
#include "change/prov-int.h"
#include "change/provenance.h"
#include "crypto/hash.h"

extern char **environ;

static char tmpdir[] = "/tmp/vigil-prov.XXXXXX";
static char fpr[64], fpr2[64], arch[32];
static int64_t t0; /* the change time of the cases */
static unsigned root_seq;

/* Runs script with bash (T is the temp dir, TEST_DATA the data dir); fails the test when
 * it does not exit 0. */
static void run(const char *fmt, ...)
{
	char *script = NULL, *argv[4];
	va_list ap;
	pid_t pid;
	int st = 0, r;

	va_start(ap, fmt);
	assert_true(vasprintf(&script, fmt, ap) >= 0);
	va_end(ap);
	argv[0] = (char *)"bash";
	argv[1] = (char *)"-c";
	argv[2] = script;
	argv[3] = NULL;
	r = posix_spawn(&pid, "/bin/bash", NULL, NULL, argv, environ);
	assert_int_equal(r, 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("command failed (%d): %s", st, script);
	free(script);
}

static void read_word(const char *rel, char *out, size_t size)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(file_read_all(tmpdir, rel, 4096, &text, &len), 0);
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	assert_true(len > 0 && len < size);
	memcpy(out, text, len);
	out[len] = '\0';
	free(text);
}

static void put(const char *root, const char *rel, const char *text)
{
	assert_int_equal(file_write_all(root, rel, text, strlen(text), 0644), 0);
}

/* A dpkg.log line at time ns (local time, as dpkg writes it). */
static char *log_line(int64_t ns, const char *rest)
{
	struct tm tm;
	time_t t = (time_t)(ns / 1000000000);
	char stamp[32], *s = NULL;

	assert_non_null(localtime_r(&t, &tm));
	assert_true(strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm) > 0);
	assert_true(asprintf(&s, "%s %s\n", stamp, rest) >= 0);
	return s;
}

static int group_setup(void **state)
{
	const char *data = getenv("TEST_DATA");

	if (!data) {
		fprintf(stderr, "TEST_DATA is not set\n");
		return -1;
	}
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("T", tmpdir, 1);
	assert_int_equal(hash_global_init(), 0);
	run("set -e; source \"$TEST_DATA/aptrepo.sh\"\n"
	    "A=$(dpkg --print-architecture); echo \"$A\" >\"$T/arch\"\n"
	    "aptrepo_key \"$T/gnupg\" \"$T/key.gpg\" >\"$T/fpr\"\n"
	    "aptrepo_key \"$T/gnupg2\" \"$T/key2.gpg\" >\"$T/fpr2\"\n"
	    "R=$T/base; REPO=$R/srv/repo\n"
	    "mkdir -p \"$T/st1/etc\" \"$T/st1/usr/share/foo\"\n"
	    "mkdir -p \"$T/st2/etc\" \"$T/st2/usr/share/foo\"\n"
	    "printf 'conf 1\\n' >\"$T/st1/etc/foo.conf\"\n"
	    "printf 'data 1\\n' >\"$T/st1/usr/share/foo/data\"\n"
	    "printf 'old\\n' >\"$T/st1/usr/share/foo/old\"\n"
	    "printf 'conf 2\\n' >\"$T/st2/etc/foo.conf\"\n"
	    "printf 'data 2\\n' >\"$T/st2/usr/share/foo/data\"\n"
	    "P=$REPO/pool/main\n"
	    "aptrepo_pkg \"$P/foo_1.0_$A.deb\" foo 1.0 \"$A\" \"$T/st1\" /etc/foo.conf\n"
	    "aptrepo_pkg \"$P/foo_2.0_$A.deb\" foo 2.0 \"$A\" \"$T/st2\" /etc/foo.conf\n"
	    "aptrepo_publish \"$REPO\" stable main \"$T/gnupg\"\n"
	    /* the same version rebuilt: same member, different .deb */
	    "printf 'extra\\n' >\"$T/st2/usr/share/foo/extra\"\n"
	    "aptrepo_pkg \"$T/foo_2.0_alt.deb\" foo 2.0 \"$A\" \"$T/st2\" /etc/foo.conf\n"
	    "mkdir -p \"$R/etc/apt/sources.list.d\" \"$R/keys\" \"$R/var/lib/apt/lists\" "
	    "\"$R/var/lib/dpkg/info\" \"$R/var/log/apt\" \"$R/var/cache/apt/archives\"\n"
	    "cp \"$T/key.gpg\" \"$R/keys/key.gpg\"\n"
	    "echo 'deb [signed-by=/keys/key.gpg] file:/srv/repo stable main' "
	    ">\"$R/etc/apt/sources.list.d/test.list\"\n"
	    "cp \"$REPO/dists/stable/InRelease\" "
	    "\"$R/var/lib/apt/lists/_srv_repo_dists_stable_InRelease\"\n"
	    "cp \"$REPO/dists/stable/main/binary-$A/Packages\" "
	    "\"$R/var/lib/apt/lists/_srv_repo_dists_stable_main_binary-${A}_Packages\"\n"
	    "cp -a \"$T/st2/etc\" \"$T/st2/usr\" \"$R/\"; rm \"$R/usr/share/foo/extra\"\n"
	    "printf 'made by postinst\\n' >\"$R/usr/share/foo/created\"\n"
	    "cd \"$R/var/lib/dpkg\"\n"
	    "printf 'Package: foo\\nStatus: install ok installed\\nPriority: optional\\n"
	    "Section: misc\\nMaintainer: Vigil Test <t@example.invalid>\\nArchitecture: %%s\\n"
	    "Version: 2.0\\nConffiles:\\n /etc/foo.conf %%s\\nDescription: test\\n x\\n\\n' "
	    "\"$A\" \"$(md5sum <\"$T/st2/etc/foo.conf\" | cut -d' ' -f1)\" >status\n"
	    "printf '/.\\n/etc\\n/etc/foo.conf\\n/usr\\n/usr/share\\n/usr/share/foo\\n"
	    "/usr/share/foo/data\\n/usr/share/foo/created\\n' >info/foo.list\n"
	    "(cd \"$T/st2\" && md5sum usr/share/foo/data) >info/foo.md5sums\n"
	    "echo /etc/foo.conf >info/foo.conffiles\n");
	read_word("fpr", fpr, sizeof(fpr));
	read_word("fpr2", fpr2, sizeof(fpr2));
	read_word("arch", arch, sizeof(arch));
	assert_int_equal(strlen(fpr), 40);
	t0 = ((int64_t)time(NULL) - 86400) * 1000000000;
	*state = NULL;
	return 0;
}

static int group_teardown(void **state)
{
	if (getenv("VIGIL_KEEP_TMP"))
		return 0;
	run("rm -rf \"$T\"");
	return 0;
}

/* A fresh copy of the base root, with an upgrade of foo in dpkg.log at t0 + 1 s. */
static char *root_new(void)
{
	char *root = NULL, *line = NULL, *text = NULL;

	assert_true(asprintf(&root, "%s/r%u", tmpdir, ++root_seq) >= 0);
	run("cp -a \"$T/base\" '%s'", root);
	assert_true(asprintf(&text, "upgrade foo:%s 1.0 2.0", arch) >= 0);
	line = log_line(t0 + 1000000000, text);
	free(text);
	assert_true(asprintf(&text,
			     "%s%s",
			     line,
			     "2020-01-01 00:00:00 startup archives unpack\n") >= 0);
	put(root, "var/log/dpkg.log", text);
	free(line);
	free(text);
	return root;
}

static char *lists_name(const char *kind)
{
	char *s = NULL;

	if (strcmp(kind, "InRelease") == 0)
		assert_true(asprintf(&s, "var/lib/apt/lists/_srv_repo_dists_stable_InRelease") >=
			    0);
	else
		assert_true(asprintf(&s,
				     "var/lib/apt/lists/"
				     "_srv_repo_dists_stable_main_binary-%s_Packages",
				     arch) >= 0);
	return s;
}

struct fixture {
	const char *fprs[1];
	struct prov_repo repo;
	struct prov_query q;
	uint8_t sha[SHA256_LEN];
	struct prov_result res;
	struct prov_ctx *ctx;
	char *root;
};

static void fx_init(struct fixture *f, const char *path, const char *content)
{
	memset(f, 0, sizeof(*f));
	f->root = root_new();
	f->fprs[0] = fpr;
	f->repo = (struct prov_repo){ .uri = "file:/srv/repo/", .suite = "stable",
				      .component = "main", .fingerprints = f->fprs,
				      .n_fingerprints = 1 };
	f->q.path = path;
	if (content) {
		assert_int_equal(sha256_buf(content, strlen(content), f->sha), 0);
		f->q.sha256 = f->sha;
	}
	f->q.change_ns = t0;
	f->q.slack_ns = 60ll * 1000000000;
	f->q.allowed = &f->repo;
	f->q.n_allowed = 1;
}

static void fx_check(struct fixture *f)
{
	prov_result_release(&f->res);
	if (!f->ctx)
		assert_int_equal(prov_ctx_new(f->root, &f->ctx), 0);
	assert_int_equal(prov_check(f->ctx, &f->q, &f->res), 0);
	if (getenv("PROV_DEBUG"))
		fprintf(stderr, "# %s: level %s, %s: %s\n", f->q.path,
			prov_level_name(f->res.level),
			f->res.authorized ? "authorized" : "not authorized", f->res.reason ?: "-");
	if (!f->res.authorized) {
		assert_non_null(f->res.reason);
		assert_true(strlen(f->res.reason) > 0);
		assert_null(strchr(f->res.reason, '\n'));
	}
}

static void fx_done(struct fixture *f)
{
	prov_result_release(&f->res);
	prov_ctx_free(f->ctx);
	free(f->root);
}

static void test_full_chain(void **state)
{
	struct fixture f;
	char *deb = NULL;

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_SIGNED);
	assert_string_equal(f.res.package, "foo");
	assert_string_equal(f.res.version, "2.0");
	assert_string_equal(f.res.arch, arch);
	assert_string_equal(f.res.action, "upgrade");
	assert_int_equal(f.res.dpkg_ns, t0 + 1000000000);
	assert_true(prov_fpr_equal(f.res.key_fingerprint, fpr));
	assert_string_equal(f.res.repo_uri, "file:/srv/repo");
	assert_string_equal(f.res.suite, "stable");
	assert_string_equal(f.res.component, "main");
	assert_true(asprintf(&deb, "/srv/repo/pool/main/foo_2.0_%s.deb", arch) >= 0);
	assert_string_equal(f.res.deb_path, deb);
	assert_int_equal(strlen(f.res.deb_sha256), 64);
	assert_false(f.res.conffile);
	assert_null(f.res.reason);
	/* again from the caches */
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_SIGNED);
	free(deb);
	fx_done(&f);
}

static void test_apt_cache_and_keyrings(void **state)
{
	struct fixture f;
	const char *keyrings[] = { "/keys/key.gpg" };

	/* the .deb from apt's cache; keyring from the query, source without signed-by */
	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	run("cd '%s' && mv srv/repo/pool/main/foo_2.0_%s.deb var/cache/apt/archives/ && "
	    "echo 'deb file:/srv/repo stable main' >etc/apt/sources.list.d/test.list",
	    f.root, arch);
	f.q.keyrings = keyrings;
	f.q.n_keyrings = 1;
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_SIGNED);
	assert_non_null(strstr(f.res.deb_path, "/var/cache/apt/archives/foo_2.0_"));
	/* no keyring at all: apt's trusted.gpg.d is empty here */
	f.q.keyrings = NULL;
	f.q.n_keyrings = 0;
	prov_ctx_free(f.ctx);
	f.ctx = NULL;
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_CONTENT);
	/* ...until the key is put there */
	run("mkdir -p '%s/etc/apt/trusted.gpg.d' && "
	    "cp '%s/key.gpg' '%s/etc/apt/trusted.gpg.d/test.gpg'",
	    f.root, tmpdir, f.root);
	fx_check(&f);
	assert_true(f.res.authorized);
	fx_done(&f);
}

static void test_deb822_sources(void **state)
{
	struct fixture f;

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	run("cd '%s/etc/apt/sources.list.d' && rm test.list && printf '"
	    "Types: deb\\nURIs: file:/srv/other\\nSuites: stable\\nComponents: main\\n"
	    "Enabled: no\\n\\n"
	    "Types: deb-src deb\\nURIs: file:/srv/repo/\\nSuites: stable\\nComponents: main\\n"
	    "Signed-By: /keys/key.gpg\\n' >test.sources",
	    f.root);
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_SIGNED);
	fx_done(&f);
}

static void test_compressed_lists(void **state)
{
	static const char *const tools[] = { "lz4 -q", "xz", "gzip" };
	static const char *const exts[] = { "lz4", "xz", "gz" };
	char *pk = lists_name("Packages");

	/* apt may keep its lists compressed; the InRelease names the plain content */
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		struct fixture f;

		fx_init(&f, "/usr/share/foo/data", "data 2\n");
		run("cd '%s' && %s -c <'%s' >'%s.%s' && rm '%s'", f.root, tools[i], pk, pk, exts[i],
		    pk);
		fx_check(&f);
		assert_true(f.res.authorized);
		assert_int_equal(f.res.level, PROV_SIGNED);
		fx_done(&f);
	}
	free(pk);
}

static void test_tampered(void **state)
{
	struct fixture f;

	fx_init(&f, "/usr/share/foo/data", "data 2 but changed\n");
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_OWNED);
	assert_non_null(strstr(f.res.reason, "differs"));
	/* weaker evidence accepted or not, contradicting content is never authorized */
	f.q.accept_weaker = true;
	fx_check(&f);
	assert_false(f.res.authorized);
	fx_done(&f);
}

static void test_repo_not_allowed(void **state)
{
	struct fixture f;

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	f.repo.suite = "unstable";
	f.q.accept_weaker = true;
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_true(f.res.level < PROV_SIGNED);
	assert_non_null(strstr(f.res.reason, "file:/srv/repo"));
	assert_non_null(strstr(f.res.reason, "not allowed"));
	/* the component must match too */
	f.repo.suite = "stable";
	f.repo.component = "contrib";
	fx_check(&f);
	assert_false(f.res.authorized);
	/* any component */
	f.repo.component = NULL;
	fx_check(&f);
	assert_true(f.res.authorized);
	fx_done(&f);
}

static void test_key_not_allowed(void **state)
{
	struct fixture f;
	char spaced[128];
	size_t n = 0;

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	f.fprs[0] = fpr2;
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_CONTENT);
	assert_non_null(strstr(f.res.reason, "key"));
	/* lower case with spaces is the same fingerprint */
	for (size_t i = 0; fpr[i]; i++) {
		if (i && i % 4 == 0)
			spaced[n++] = ' ';
		spaced[n++] = (char)(fpr[i] >= 'A' && fpr[i] <= 'F' ? fpr[i] + 32 : fpr[i]);
	}
	spaced[n] = '\0';
	f.fprs[0] = spaced;
	fx_check(&f);
	assert_true(f.res.authorized);
	fx_done(&f);
}

static void test_unsigned_index(void **state)
{
	struct fixture f;
	char *inr = lists_name("InRelease");

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	run("cp '%s/srv/repo/dists/stable/Release' '%s/%s'", f.root, f.root, inr);
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_CONTENT);
	assert_non_null(strstr(f.res.reason, "signature"));
	free(inr);
	fx_done(&f);
}

static void test_broken_signature(void **state)
{
	struct fixture f;
	char *inr = lists_name("InRelease");

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	run("sed -i 's/^Label: Vigil Test$/Label: Vigil Tesu/' '%s/%s' && grep -q Tesu '%s/%s'",
	    f.root, inr, f.root, inr);
	f.q.accept_weaker = true;
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_CONTENT);
	assert_non_null(strstr(f.res.reason, "bad signature"));
	free(inr);
	fx_done(&f);
}

static void test_text_outside_signature(void **state)
{
	struct fixture f;
	char *inr = lists_name("InRelease"), *pk = lists_name("Packages");

	/* a forged index whose hash is appended after the signed block: never read */
	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	run("cd '%s' && printf '\\nX: y\\n' >>'%s' && "
	    "printf 'SHA256:\\n %%s %%s main/binary-%s/Packages\\n' "
	    "\"$(sha256sum <'%s' | cut -d' ' -f1)\" \"$(stat -c %%s '%s')\" >>'%s'",
	    f.root, pk, arch, pk, pk, inr);
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_true(f.res.level < PROV_SIGNED);
	free(inr);
	free(pk);
	fx_done(&f);
}

static void test_deb_not_in_index(void **state)
{
	struct fixture f;

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	run("cp '%s/foo_2.0_alt.deb' '%s/srv/repo/pool/main/foo_2.0_%s.deb'", tmpdir, f.root, arch);
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_CONTENT);
	assert_non_null(strstr(f.res.reason, "SHA256"));
	f.q.accept_weaker = true;
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_CONTENT);
	fx_done(&f);
}

static void test_deb_missing(void **state)
{
	struct fixture f;

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	run("rm '%s/srv/repo/pool/main/foo_2.0_%s.deb'", f.root, arch);
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_OWNED);
	assert_non_null(strstr(f.res.reason, "no .deb"));
	f.q.accept_weaker = true;
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_OWNED);
	fx_done(&f);
}

static void test_dpkg_action_out_of_window(void **state)
{
	struct fixture f;
	char *line, *text = NULL;

	fx_init(&f, "/usr/share/foo/data", "data 2\n");
	assert_true(asprintf(&text, "upgrade foo:%s 1.0 2.0", arch) >= 0);
	line = log_line(t0 - 3600ll * 1000000000, text);
	put(f.root, "var/log/dpkg.log", line);
	f.q.accept_weaker = true;
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_SIGNED);
	assert_non_null(strstr(f.res.reason, "no dpkg"));
	assert_null(f.res.action);
	/* an action of another version does not count either */
	free(line);
	free(text);
	assert_true(asprintf(&text, "upgrade foo:%s 2.0 3.0", arch) >= 0);
	line = log_line(t0, text);
	put(f.root, "var/log/dpkg.log", line);
	fx_check(&f);
	assert_false(f.res.authorized);
	/* apt's history.log alone is enough */
	free(line);
	free(text);
	put(f.root, "var/log/dpkg.log", "garbage line\n");
	line = log_line(t0, "x");
	line[19] = '\0';
	assert_true(asprintf(&text, "\nStart-Date: %s\nCommandline: apt-get install foo\n"
				    "Upgrade: foo:%s (1.0, 2.0), bar:%s (1, 2)\nEnd-Date: %s\n",
			     line, arch, arch, line) >= 0);
	put(f.root, "var/log/apt/history.log", text);
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_string_equal(f.res.action, "upgrade");
	free(line);
	free(text);
	fx_done(&f);
}

static void test_conffiles(void **state)
{
	struct fixture f;

	fx_init(&f, "/etc/foo.conf", "conf 2\n");
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_SIGNED);
	assert_true(f.res.conffile);
	fx_done(&f);
	/* rewritten by a maintainer script */
	fx_init(&f, "/etc/foo.conf", "conf 2 edited by postinst\n");
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_true(f.res.conffile);
	assert_non_null(strstr(f.res.reason, "conffile"));
	f.q.cover_conffiles = true;
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_OWNED);
	fx_done(&f);
}

static void test_created(void **state)
{
	struct fixture f;

	fx_init(&f, "/usr/share/foo/created", "made by postinst\n");
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_OWNED);
	assert_non_null(strstr(f.res.reason, "maintainer script"));
	f.q.cover_created = true;
	fx_check(&f);
	assert_true(f.res.authorized);
	/* a file no package lists */
	f.q.path = "/usr/share/foo/stranger";
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_int_equal(f.res.level, PROV_NONE);
	assert_non_null(strstr(f.res.reason, "no installed package owns"));
	fx_done(&f);
}

static void test_removed(void **state)
{
	struct fixture f;

	/* 1.0 shipped /usr/share/foo/old, 2.0 does not: the upgrade removed it */
	fx_init(&f, "/usr/share/foo/old", NULL);
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_int_equal(f.res.level, PROV_SIGNED);
	assert_string_equal(f.res.package, "foo");
	assert_string_equal(f.res.action, "upgrade");
	/* a file the package still lists was not removed by dpkg */
	f.q.path = "/usr/share/foo/data";
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_non_null(strstr(f.res.reason, "still lists"));
	/* a removal of the whole package */
	f.q.path = "/usr/share/foo/old";
	{
		char *line, *text = NULL;

		assert_true(asprintf(&text, "remove foo:%s 1.0 <none>", arch) >= 0);
		line = log_line(t0, text);
		put(f.root, "var/log/dpkg.log", line);
		free(line);
		free(text);
	}
	fx_check(&f);
	assert_true(f.res.authorized);
	assert_string_equal(f.res.action, "remove");
	/* no dpkg activity */
	put(f.root, "var/log/dpkg.log", "");
	fx_check(&f);
	assert_false(f.res.authorized);
	assert_non_null(strstr(f.res.reason, "no dpkg"));
	fx_done(&f);
}

static void test_malformed(void **state)
{
	static const char *const junk[] = {
		"\x01\x02\xff garbage\n\n\n:::\n \n",
		"Package foo\nStatus install ok installed\n",
		"Package: foo\nVersion: 2.0\n", /* no architecture, no status */
		"",
	};
	struct fixture f;
	char *pk = lists_name("Packages");

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		fx_init(&f, "/usr/share/foo/data", "data 2\n");
		put(f.root, "var/lib/dpkg/status", junk[i]);
		put(f.root, "var/log/dpkg.log", "2026-13-45 99:99:99 upgrade\nnot a log\n");
		put(f.root, pk, "Package: foo\nVersion 2.0\n\x7f\n\n\n");
		put(f.root, "etc/apt/sources.list.d/test.list", "deb [signed-by=/x\ndeb\n");
		f.q.accept_weaker = true;
		fx_check(&f);
		assert_false(f.res.authorized);
		assert_true(f.res.level <= PROV_OWNED);
		fx_done(&f);
	}
	free(pk);
}

/* ---- pure parsers ---- */

static void test_uri_to_filename(void **state)
{
	static const char *const cases[][2] = {
		{ "file:/srv/repo/dists/stable/InRelease", "_srv_repo_dists_stable_InRelease" },
		{ "file:///srv/repo/dists/stable/", "_srv_repo_dists_stable_" },
		{ "http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages",
		  "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages" },
		{ "https://user:pw@example.org:8080/a_b~c/dists/x/InRelease",
		  "example.org:8080_a%5fb%7ec_dists_x_InRelease" },
		{ "http://ex.org/a b", "ex.org_a%20b" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = NULL;

		assert_int_equal(prov_uri_to_filename(cases[i][0], &s), 0);
		assert_string_equal(s, cases[i][1]);
		free(s);
	}
}

static void test_deb_cache_name(void **state)
{
	char *s = NULL;

	assert_int_equal(prov_deb_cache_name("libfoo", "1:2.0-1_x", "amd64", &s), 0);
	assert_string_equal(s, "libfoo_1%3a2.0-1%5fx_amd64.deb");
	free(s);
}

static void test_sources_oneline(void **state)
{
	const char *text = "# comment\n"
			   "deb-src http://x.org/debian bookworm main\n"
			   "deb [ arch=amd64 signed-by=/usr/share/keyrings/a.gpg,/etc/b.gpg ] "
			   "http://x.org/debian/ bookworm main contrib # trailing\n"
			   "deb [signed-by=/k.gpg] file:/srv/flat ./\n"
			   "deb http://x.org/debian\n"		/* no suite */
			   "deb [arch=amd64 http://x.org x main\n" /* unclosed options */
			   "rpm http://x.org x main\n"
			   "deb http://y.org/d sid/updates main\n";
	struct prov_source_list l = { 0 };

	assert_int_equal(prov_sources_parse_oneline(text, strlen(text), "t.list", &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.bad, 3);
	assert_string_equal(l.v[0].uri, "http://x.org/debian");
	assert_string_equal(l.v[0].suite, "bookworm");
	assert_int_equal(l.v[0].n_components, 2);
	assert_string_equal(l.v[0].components[1], "contrib");
	assert_int_equal(l.v[0].n_signed_by, 2);
	assert_string_equal(l.v[0].signed_by[0], "/usr/share/keyrings/a.gpg");
	assert_string_equal(l.v[0].signed_by[1], "/etc/b.gpg");
	assert_string_equal(l.v[0].origin, "t.list:3");
	assert_string_equal(l.v[1].suite, "./");
	assert_int_equal(l.v[1].n_components, 0);
	assert_string_equal(l.v[2].suite, "sid/updates");
	prov_source_list_release(&l);
}

static void test_sources_deb822(void **state)
{
	const char *text = "Types: deb\n"
			   "URIs: http://a.org/debian http://b.org/debian/\n"
			   "Suites: bookworm bookworm-updates\n"
			   "Components: main\n"
			   "Signed-By: /usr/share/keyrings/debian.gpg\n"
			   "\n"
			   "# disabled\n"
			   "Types: deb\nURIs: http://c.org\nSuites: x\nComponents: main\n"
			   "Enabled: no\n"
			   "\n"
			   "Types: deb-src\nURIs: http://d.org\nSuites: x\nComponents: main\n"
			   "\n"
			   "Types: deb\nURIs: http://e.org\nSuites: x\nComponents: main\n"
			   "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
			   " -----END PGP PUBLIC KEY BLOCK-----\n"
			   "\n"
			   "Types: deb\nSuites: x\n";
	struct prov_source_list l = { 0 };

	assert_int_equal(prov_sources_parse_deb822(text, strlen(text), "t.sources", &l), 0);
	assert_int_equal(l.n, 5);
	assert_int_equal(l.bad, 1);
	assert_string_equal(l.v[0].uri, "http://a.org/debian");
	assert_string_equal(l.v[0].suite, "bookworm");
	assert_string_equal(l.v[1].suite, "bookworm-updates");
	assert_string_equal(l.v[3].uri, "http://b.org/debian");
	assert_int_equal(l.v[3].n_signed_by, 1);
	assert_string_equal(l.v[4].uri, "http://e.org");
	assert_int_equal(l.v[4].n_signed_by, 0);
	prov_source_list_release(&l);
}

static void test_sources_limit(void **state)
{
	struct buf b;
	struct prov_source_list l = { 0 };

	buf_init(&b, 1 << 20);
	for (unsigned i = 0; i < PROV_SOURCES_MAX + 10; i++)
		assert_int_equal(buf_printf(&b, "deb http://h%u.org/d s main\n", i), 0);
	assert_int_equal(prov_sources_parse_oneline(b.data, b.len, "big.list", &l), -E2BIG);
	assert_int_equal(l.n, PROV_SOURCES_MAX);
	prov_source_list_release(&l);
	buf_release(&b);
}

static void test_dpkg_log_parse(void **state)
{
	struct prov_dpkg_event ev;
	const char *l;
	int64_t ns;

	l = "2026-11-27 10:01:02 upgrade foo:amd64 1.0 2.0";
	assert_int_equal(prov_dpkg_log_parse(l, strlen(l), &ev), 0);
	assert_string_equal(ev.action, "upgrade");
	assert_string_equal(ev.package, "foo");
	assert_string_equal(ev.arch, "amd64");
	assert_string_equal(ev.old_version, "1.0");
	assert_string_equal(ev.new_version, "2.0");
	assert_int_equal(prov_local_time_parse("2026-11-27 10:01:02", 19, &ns), 0);
	assert_int_equal(ev.ns, ns);
	l = "2026-11-27 10:01:03 status installed foo:amd64 2.0";
	assert_int_equal(prov_dpkg_log_parse(l, strlen(l), &ev), 0);
	assert_string_equal(ev.action, "status");
	assert_string_equal(ev.state, "installed");
	assert_string_equal(ev.new_version, "2.0");
	assert_int_equal(ev.ns, ns + 1000000000);
	l = "2026-11-27 10:01:02 install bar <none> 1:1.0-1";
	assert_int_equal(prov_dpkg_log_parse(l, strlen(l), &ev), 0);
	assert_string_equal(ev.arch, "");
	assert_string_equal(ev.old_version, "<none>");
	l = "2026-11-27 10:01:02 startup archives unpack";
	assert_int_equal(prov_dpkg_log_parse(l, strlen(l), &ev), -ENOMSG);
	l = "2026-11-27 10:01:02 conffile /etc/foo.conf keep";
	assert_int_equal(prov_dpkg_log_parse(l, strlen(l), &ev), -ENOMSG);
	l = "2026-11-27 10:01:02 upgrade foo:amd64 1.0";
	assert_int_equal(prov_dpkg_log_parse(l, strlen(l), &ev), -EINVAL);
	l = "2026-11-27 25:01:02 upgrade foo:amd64 1.0 2.0";
	assert_int_equal(prov_dpkg_log_parse(l, strlen(l), &ev), -EINVAL);
	l = "garbage";
	assert_int_equal(prov_dpkg_log_parse(l, strlen(l), &ev), -EINVAL);
}

static void test_fpr_and_status(void **state)
{
	const char *status =
		"[GNUPG:] NEWSIG\n"
		"[GNUPG:] GOODSIG 913D8923340FA867 Vigil Test <t@example.invalid>\n"
		"[GNUPG:] VALIDSIG 1111111111111111111111111111111111111111 "
		"2026-11-27 1 0 4 0 22 10 01 "
		"ECAF3E92C801F253E7DC5D05913D8923340FA867\n"
		"[GNUPG:] NEWSIG\n"
		"[GNUPG:] ERRSIG 0000000000000000 22 10 01 1 9\n";
	struct prov_gpgv_result r = { 0 };

	assert_true(prov_fpr_equal("ecaf 3e92 c801 f253 e7dc  5d05 913d 8923 340f a867",
				   "ECAF3E92C801F253E7DC5D05913D8923340FA867"));
	assert_false(prov_fpr_equal("ECAF3E92C801F253E7DC5D05913D8923340FA866",
				    "ECAF3E92C801F253E7DC5D05913D8923340FA867"));
	assert_false(prov_fpr_equal("913D8923340FA867", "913D8923340FA867"));
	assert_false(prov_fpr_equal("", ""));
	prov_gpgv_parse_status(status, strlen(status), &r);
	assert_true(r.good);
	assert_int_equal(r.n_sigs, 1);
	assert_string_equal(r.primary[0], "ECAF3E92C801F253E7DC5D05913D8923340FA867");
	assert_string_equal(r.fpr[0], "1111111111111111111111111111111111111111");
	/* a VALIDSIG without GOODSIG, or any BADSIG, is not good */
	status = "[GNUPG:] VALIDSIG 1111111111111111111111111111111111111111 a b c d e f g h "
		 "ECAF3E92C801F253E7DC5D05913D8923340FA867\n";
	prov_gpgv_parse_status(status, strlen(status), &r);
	assert_false(r.good);
	status = "[GNUPG:] BADSIG 913D8923340FA867 x\n";
	prov_gpgv_parse_status(status, strlen(status), &r);
	assert_false(r.good);
	assert_true(r.bad);
}

static void test_level_names(void **state)
{
	assert_string_equal(prov_level_name(PROV_NONE), "none");
	assert_string_equal(prov_level_name(PROV_OWNED), "owned");
	assert_string_equal(prov_level_name(PROV_CONTENT), "content");
	assert_string_equal(prov_level_name(PROV_SIGNED), "signed");
	assert_string_equal(prov_level_name((enum prov_level)42), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_names),
		cmocka_unit_test(test_uri_to_filename),
		cmocka_unit_test(test_deb_cache_name),
		cmocka_unit_test(test_sources_oneline),
		cmocka_unit_test(test_sources_deb822),
		cmocka_unit_test(test_sources_limit),
		cmocka_unit_test(test_dpkg_log_parse),
		cmocka_unit_test(test_fpr_and_status),
		cmocka_unit_test(test_full_chain),
		cmocka_unit_test(test_apt_cache_and_keyrings),
		cmocka_unit_test(test_deb822_sources),
		cmocka_unit_test(test_compressed_lists),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_repo_not_allowed),
		cmocka_unit_test(test_key_not_allowed),
		cmocka_unit_test(test_unsigned_index),
		cmocka_unit_test(test_broken_signature),
		cmocka_unit_test(test_text_outside_signature),
		cmocka_unit_test(test_deb_not_in_index),
		cmocka_unit_test(test_deb_missing),
		cmocka_unit_test(test_dpkg_action_out_of_window),
		cmocka_unit_test(test_conffiles),
		cmocka_unit_test(test_created),
		cmocka_unit_test(test_removed),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
