/*
 * Unit tests for change/: the record document (parsing with the place of each problem,
 * the stored form, widening amendments), the state machine, scope patterns, roles and
 * accounts, the review packet and the reconciler, the last three against a real store
 * in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/json-parse.h"
#include "base/timeutil.h"
#include "change/account.h"
#include "change/reconcile.h"
#include "change/record.h"
#include "change/review.h"
#include "store/store.h"

static char dir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/vigil-change-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct store *open_store(void)
{
	struct store *s = NULL;
	struct vg_error err;

	assert_int_equal(store_open(dir, STORE_CREATE, &s, &err), 0);
	return s;
}

static int64_t ns_of(const char *rfc3339)
{
	int64_t ns = 0;

	assert_int_equal(time_parse_rfc3339(rfc3339, &ns), 0);
	return ns;
}

static void parse_ok(const char *text, enum cr_parse_mode mode, struct cr_doc *d)
{
	struct vg_error err = { 0 };
	int r = cr_doc_parse_text(text, strlen(text), mode, "rec.json", d, &err);

	if (r != 0)
		fail_msg("parse failed (%d): %u:%u: %s\n%s", r, err.line, err.col, err.msg, text);
}

/* ---- names ---- */

static void test_type_and_state_names(void **state)
{
	static const char *const types[] = { "normal", "standard", "emergency" };
	static const char *const states[] = { "draft",	     "submitted",	"approved",
					      "rejected",    "in_progress",	"implemented",
					      "retro_approved", "reviewed",	"closed",
					      "cancelled" };
	static const char *const actions[] = { "submit", "approve", "reject", "start",
					       "complete", "review", "close", "cancel" };
	enum cr_type t;
	enum cr_state s;

	assert_int_equal(ARRAY_SIZE(types), CR_TYPE__COUNT);
	assert_int_equal(ARRAY_SIZE(states), CR_STATE__COUNT);
	assert_int_equal(ARRAY_SIZE(actions), CR_ACTION__COUNT);
	for (int i = 0; i < CR_TYPE__COUNT; i++) {
		assert_string_equal(cr_type_name((enum cr_type)i), types[i]);
		assert_int_equal(cr_type_parse(types[i], &t), 0);
		assert_int_equal(t, i);
	}
	for (int i = 0; i < CR_STATE__COUNT; i++) {
		assert_string_equal(cr_state_name((enum cr_state)i), states[i]);
		assert_int_equal(cr_state_parse(states[i], &s), 0);
		assert_int_equal(s, i);
	}
	for (int i = 0; i < CR_ACTION__COUNT; i++)
		assert_string_equal(cr_action_name((enum cr_action)i), actions[i]);
	assert_string_equal(cr_type_name(CR_TYPE__COUNT), "unknown");
	assert_string_equal(cr_state_name(CR_STATE__COUNT), "unknown");
	assert_string_equal(cr_action_name(CR_ACTION__COUNT), "unknown");
	assert_string_equal(cr_type_name((enum cr_type)-1), "unknown");

	t = CR_STANDARD;
	s = CR_CLOSED;
	assert_int_equal(cr_type_parse("Normal", &t), -EINVAL);
	assert_int_equal(cr_type_parse("", &t), -EINVAL);
	assert_int_equal(cr_state_parse("canceled", &s), -EINVAL);
	assert_int_equal(cr_state_parse("draft ", &s), -EINVAL);
	/* untouched on failure */
	assert_int_equal(t, CR_STANDARD);
	assert_int_equal(s, CR_CLOSED);
}

/* ---- the state machine ---- */

#define NO (-1)
#define DR CR_DRAFT
#define SU CR_SUBMITTED
#define AP CR_APPROVED
#define RJ CR_REJECTED
#define IP CR_IN_PROGRESS
#define IM CR_IMPLEMENTED
#define RA CR_RETRO_APPROVED
#define RV CR_REVIEWED
#define CL CR_CLOSED
#define CA CR_CANCELLED

/*
 * next[type][state][action], columns in enum cr_action order:
 * submit, approve, reject, start, complete, review, close, cancel.
 */
static const int machine[CR_TYPE__COUNT][CR_STATE__COUNT][CR_ACTION__COUNT] = {
	[CR_NORMAL] = {
		/*               sub approve reject start complete review close cancel */
		[CR_DRAFT]          = { SU, NO, NO, NO, NO, NO, NO, CA },
		[CR_SUBMITTED]      = { NO, AP, RJ, NO, NO, NO, NO, CA },
		[CR_APPROVED]       = { NO, NO, NO, IP, NO, NO, NO, CA },
		[CR_REJECTED]       = { NO, NO, NO, NO, NO, NO, CL, NO },
		[CR_IN_PROGRESS]    = { NO, NO, NO, NO, IM, NO, NO, NO },
		[CR_IMPLEMENTED]    = { NO, NO, NO, NO, NO, RV, NO, NO },
		[CR_RETRO_APPROVED] = { NO, NO, NO, NO, NO, NO, NO, NO },
		[CR_REVIEWED]       = { NO, NO, NO, NO, NO, NO, CL, NO },
		[CR_CLOSED]         = { NO, NO, NO, NO, NO, NO, NO, NO },
		[CR_CANCELLED]      = { NO, NO, NO, NO, NO, NO, NO, NO },
	},
	[CR_STANDARD] = {
		/* a standing authorization is never started; it is retired by closing it */
		[CR_DRAFT]          = { SU, NO, NO, NO, NO, NO, NO, CA },
		[CR_SUBMITTED]      = { NO, AP, RJ, NO, NO, NO, NO, CA },
		[CR_APPROVED]       = { NO, NO, NO, NO, NO, NO, CL, CA },
		[CR_REJECTED]       = { NO, NO, NO, NO, NO, NO, CL, NO },
		[CR_IN_PROGRESS]    = { NO, NO, NO, NO, IM, NO, NO, NO },
		[CR_IMPLEMENTED]    = { NO, NO, NO, NO, NO, RV, NO, NO },
		[CR_RETRO_APPROVED] = { NO, NO, NO, NO, NO, NO, NO, NO },
		[CR_REVIEWED]       = { NO, NO, NO, NO, NO, NO, CL, NO },
		[CR_CLOSED]         = { NO, NO, NO, NO, NO, NO, NO, NO },
		[CR_CANCELLED]      = { NO, NO, NO, NO, NO, NO, NO, NO },
	},
	[CR_EMERGENCY] = {
		/* started before approval; approved (or rejected) once implemented */
		[CR_DRAFT]          = { SU, NO, NO, IP, NO, NO, NO, CA },
		[CR_SUBMITTED]      = { NO, NO, NO, IP, NO, NO, NO, CA },
		[CR_APPROVED]       = { NO, NO, NO, NO, NO, NO, NO, NO },
		[CR_REJECTED]       = { NO, NO, NO, NO, NO, RV, NO, NO },
		[CR_IN_PROGRESS]    = { NO, NO, NO, NO, IM, NO, NO, NO },
		[CR_IMPLEMENTED]    = { NO, RA, RJ, NO, NO, NO, NO, NO },
		[CR_RETRO_APPROVED] = { NO, NO, NO, NO, NO, RV, NO, NO },
		[CR_REVIEWED]       = { NO, NO, NO, NO, NO, NO, CL, NO },
		[CR_CLOSED]         = { NO, NO, NO, NO, NO, NO, NO, NO },
		[CR_CANCELLED]      = { NO, NO, NO, NO, NO, NO, NO, NO },
	},
};

static void test_state_machine_table(void **state)
{
	unsigned legal = 0;

	for (int t = 0; t < CR_TYPE__COUNT; t++)
		for (int s = 0; s < CR_STATE__COUNT; s++)
			for (int a = 0; a < CR_ACTION__COUNT; a++) {
				int got = cr_next_state((enum cr_type)t, (enum cr_state)s,
							(enum cr_action)a);

				if (got != machine[t][s][a])
					fail_msg("%s %s --%s--> %d, want %d",
						 cr_type_name((enum cr_type)t),
						 cr_state_name((enum cr_state)s),
						 cr_action_name((enum cr_action)a), got,
						 machine[t][s][a]);
				legal += got >= 0;
			}
	/* the table is not trivially all -1 */
	assert_int_equal(legal, 11 + 11 + 11);
	assert_int_equal(cr_next_state(CR_NORMAL, CR_DRAFT, CR_ACTION__COUNT), -1);
}

static void test_state_machine_terminal_states(void **state)
{
	/* nothing leaves closed or cancelled, for any type */
	for (int t = 0; t < CR_TYPE__COUNT; t++)
		for (int a = 0; a < CR_ACTION__COUNT; a++) {
			enum cr_type ty = (enum cr_type)t;

			assert_int_equal(cr_next_state(ty, CR_CLOSED, (enum cr_action)a), -1);
			assert_int_equal(cr_next_state(ty, CR_CANCELLED, (enum cr_action)a), -1);
		}
}

static void test_allowed_actions(void **state)
{
	char out[128], small[12];

	cr_allowed_actions(CR_NORMAL, CR_DRAFT, out, sizeof(out));
	assert_string_equal(out, "submit, cancel");
	cr_allowed_actions(CR_NORMAL, CR_SUBMITTED, out, sizeof(out));
	assert_string_equal(out, "approve, reject, cancel");
	cr_allowed_actions(CR_NORMAL, CR_APPROVED, out, sizeof(out));
	assert_string_equal(out, "start, cancel");
	cr_allowed_actions(CR_STANDARD, CR_APPROVED, out, sizeof(out));
	assert_string_equal(out, "close, cancel");
	cr_allowed_actions(CR_EMERGENCY, CR_DRAFT, out, sizeof(out));
	assert_string_equal(out, "submit, start, cancel");
	cr_allowed_actions(CR_EMERGENCY, CR_IMPLEMENTED, out, sizeof(out));
	assert_string_equal(out, "approve, reject");
	cr_allowed_actions(CR_EMERGENCY, CR_APPROVED, out, sizeof(out));
	assert_string_equal(out, "none");
	cr_allowed_actions(CR_NORMAL, CR_CLOSED, out, sizeof(out));
	assert_string_equal(out, "none");
	/* a short buffer stays terminated and holds the start of the list */
	memset(small, 'x', sizeof(small));
	cr_allowed_actions(CR_NORMAL, CR_SUBMITTED, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "approve, reject, cancel", sizeof(small) - 1);
	cr_allowed_actions(CR_NORMAL, CR_SUBMITTED, small, 0);
	assert_int_equal(small[0], 'a');
}

/* ---- patterns ---- */

static bool match(const char *pattern, const char *path)
{
	return cr_path_match(pattern, path, strlen(path));
}

static void test_pattern_literal(void **state)
{
	assert_true(match("/etc/passwd", "/etc/passwd"));
	assert_false(match("/etc/passwd", "/etc/passwd-"));
	assert_false(match("/etc/passwd", "/etc/passw"));
	assert_false(match("/etc/passwd", "/etc/passwd/x"));
	assert_false(match("/etc/passwd", "/ETC/passwd"));
	assert_true(match("/", "/"));
	assert_false(match("/", ""));
	assert_true(cr_pattern_literal("/etc/passwd"));
	assert_true(cr_pattern_literal("/etc/[x]"));
	assert_false(cr_pattern_literal("/etc/*.conf"));
	assert_false(cr_pattern_literal("/etc/**"));
	assert_false(cr_pattern_literal("/etc/passw?"));
}

static void test_pattern_star_within_component(void **state)
{
	assert_true(match("/etc/*.conf", "/etc/a.conf"));
	assert_true(match("/etc/*.conf", "/etc/.conf"));
	assert_true(match("/etc/*.conf", "/etc/a.b.conf"));
	assert_false(match("/etc/*.conf", "/etc/sub/a.conf"));
	assert_false(match("/etc/*.conf", "/etc/a.confx"));
	assert_true(match("/etc/*", "/etc/x"));
	assert_false(match("/etc/*", "/etc/x/y"));
	assert_true(match("/etc/*/app", "/etc/x/app"));
	assert_false(match("/etc/*/app", "/etc/x/y/app"));
	assert_true(match("/a*b*c", "/abc"));
	assert_true(match("/a*b*c", "/a1b22c"));
	assert_false(match("/a*b*c", "/a1b2/c"));
}

static void test_pattern_globstar_spans_components(void **state)
{
	assert_true(match("/a/**/b", "/a/b"));
	assert_true(match("/a/**/b", "/a/x/b"));
	assert_true(match("/a/**/b", "/a/x/y/b"));
	assert_false(match("/a/**/b", "/a/x/yb"));
	assert_false(match("/a/**/b", "/a/b/c"));
	assert_false(match("/a/**/b", "/ab"));
	assert_true(match("/**/b", "/b"));
	assert_true(match("/**/b", "/x/y/b"));
	assert_true(match("/**", "/"));
	assert_true(match("/**", "/anything/at/all"));
	assert_true(match("/a/**/*.conf", "/a/x.conf"));
	assert_true(match("/a/**/*.conf", "/a/x/y/z.conf"));
	assert_false(match("/a/**/*.conf", "/a/x/y/z.con"));
}

static void test_pattern_trailing_globstar_includes_the_directory_itself(void **state)
{
	assert_true(match("/etc/app/**", "/etc/app/x"));
	assert_true(match("/etc/app/**", "/etc/app/x/y"));
	assert_true(match("/etc/app/**", "/etc/app/"));
	assert_true(match("/etc/app/**", "/etc/app"));
	assert_false(match("/etc/app/**", "/etc/apple"));
	assert_false(match("/etc/app/**", "/etc/ap"));
	assert_false(match("/etc/app/**", "/etc"));
	/* only a trailing '**' names the directory: "/a/**" + "/b" needs b */
	assert_false(match("/a/**/b", "/a"));
	assert_true(match("/a/*/**", "/a/x"));
	assert_false(match("/a/*/**", "/a"));
}

static void test_pattern_question_mark(void **state)
{
	assert_true(match("/a?b", "/axb"));
	assert_false(match("/a?b", "/a/b"));
	assert_false(match("/a?b", "/ab"));
	assert_false(match("/a?b", "/axxb"));
	assert_true(match("/??", "/xy"));
	assert_false(match("/??", "/x"));
}

static void test_pattern_uses_length_not_nul(void **state)
{
	/* the path is not NUL-terminated where it ends: junk follows */
	static const char buf[] = "/etc/passwdJUNK/more";

	assert_true(cr_path_match("/etc/passwd", buf, 11));
	assert_false(cr_path_match("/etc/passwd", buf, 10));
	assert_false(cr_path_match("/etc/passwdJ", buf, 11));
	assert_true(cr_path_match("/etc/*", buf, 11));
	assert_false(cr_path_match("/etc/*", buf, sizeof(buf) - 1));
	assert_true(cr_path_match("/etc/passw?", buf, 11));
	assert_false(cr_path_match("/etc/passwd?", buf, 11));
	assert_true(cr_path_match("/**/passwd", buf, 11));
	assert_false(cr_path_match("/**/more", buf, 11));
	assert_true(cr_path_match("/etc/*d", buf, 11));
	assert_false(cr_path_match("/", buf, 0));
	/* a path with a NUL byte inside is compared byte for byte */
	assert_false(cr_path_match("/a", "/a\0b", 4));
	assert_true(cr_path_match("/a", "/a\0b", 2));
}

/* ---- the document: parsing ---- */

static const char full_new[] =
	"{\n"
	"  \"id\": \"CHG-1\",\n"
	"  \"title\": \"Rotate TLS keys\",\n"
	"  \"type\": \"normal\",\n"
	"  \"description\": \"new keys\",\n"
	"  \"reason\": \"expiry\",\n"
	"  \"risk\": \"low\",\n"
	"  \"rollback\": \"old keys\",\n"
	"  \"test_evidence\": \"staging\",\n"
	"  \"expected\": \"two files\",\n"
	"  \"window\": {\"start\": \"2027-01-15T11:00:00Z\", \"end\": \"2027-01-15T13:00:00Z\"},\n"
	"  \"implementers\": [\"alice\", \"bob\"],\n"
	"  \"approvers\": {\"count\": 2, \"role\": \"administrator\"},\n"
	"  \"scope\": {\n"
	"    \"hosts\": [\"web1\"],\n"
	"    \"paths\": [\"/etc/ssl/app.pem\", \"/etc/ssl/**\"],\n"
	"    \"packages\": [\"openssl\"],\n"
	"    \"units\": [\"nginx.service\"],\n"
	"    \"config\": [\"sysctl:net.ipv4.*\"]\n"
	"  },\n"
	"  \"significant\": true\n"
	"}\n";

static void test_parse_full_record(void **state)
{
	struct cr_doc d;
	struct vg_error err;

	parse_ok(full_new, CR_PARSE_NEW, &d);
	assert_string_equal(d.id, "CHG-1");
	assert_string_equal(d.title, "Rotate TLS keys");
	assert_int_equal(d.type, CR_NORMAL);
	assert_string_equal(d.rollback, "old keys");
	assert_string_equal(d.expected, "two files");
	assert_true(d.has_window);
	assert_int_equal(d.window_start, ns_of("2027-01-15T11:00:00Z"));
	assert_int_equal(d.window_end, ns_of("2027-01-15T13:00:00Z"));
	assert_int_equal(d.implementers.n, 2);
	assert_string_equal(d.implementers.v[1], "bob");
	assert_int_equal(d.approvals_needed, 2);
	assert_int_equal(d.approver_role, ROLE_ADMINISTRATOR);
	assert_int_equal(d.paths.n, 2);
	assert_string_equal(d.paths.v[1], "/etc/ssl/**");
	assert_true(cr_list_has(&d.hosts, "web1"));
	assert_false(cr_list_has(&d.hosts, "web"));
	assert_true(cr_list_has(&d.config, "sysctl:net.ipv4.*"));
	assert_true(d.significant);
	assert_null(d.requester);
	assert_null(d.source);
	assert_int_equal(cr_doc_validate(&d, "rec.json", &err), 0);
	cr_doc_release(&d);
	assert_null(d.title);
	assert_int_equal(d.paths.n, 0);
	/* release twice is harmless */
	cr_doc_release(&d);
}

static void test_parse_defaults(void **state)
{
	static const char text[] = "{\"title\": \"x\"}";
	struct cr_doc d;

	parse_ok(text, CR_PARSE_NEW, &d);
	assert_int_equal(d.type, CR_NORMAL);
	assert_int_equal(d.approvals_needed, 1);
	assert_int_equal(d.approver_role, ROLE_APPROVER);
	assert_false(d.has_window);
	assert_false(d.significant);
	assert_null(d.evidence);
	assert_int_equal(d.n_repos, 0);
	cr_doc_release(&d);
}

static void test_parse_from_tree(void **state)
{
	static const char text[] = "{\"title\": \"x\", \"type\": \"emergency\"}";
	struct json_value *v = NULL;
	struct vg_error err;
	struct cr_doc d;

	assert_int_equal(json_parse(text, strlen(text), NULL, "t", &v, &err), 0);
	assert_int_equal(cr_doc_parse(v, CR_PARSE_NEW, "t", &d, &err), 0);
	assert_int_equal(d.type, CR_EMERGENCY);
	cr_doc_release(&d);
	json_value_free(v);
}

static void test_parse_standing_normalizes_fingerprints(void **state)
{
	static const char text[] =
		"{\"title\": \"vendor updates\", \"type\": \"standard\",\n"
		" \"standing\": {\"repositories\": [{\"uri\": \"http://deb.example.org/debian\",\n"
		"   \"suite\": \"stable\", \"component\": \"main\", \"keys\": [\n"
		"   \"0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567\"]}],\n"
		"  \"evidence\": \"content\", \"conffiles\": true, \"created\": false}}";
	struct cr_doc d;

	parse_ok(text, CR_PARSE_NEW, &d);
	assert_int_equal(d.type, CR_STANDARD);
	assert_int_equal(d.n_repos, 1);
	assert_string_equal(d.repos[0].uri, "http://deb.example.org/debian");
	assert_string_equal(d.repos[0].component, "main");
	assert_int_equal(d.repos[0].keys.n, 1);
	assert_string_equal(d.repos[0].keys.v[0], "0123456789ABCDEF0123456789ABCDEF01234567");
	assert_string_equal(d.evidence, "content");
	assert_true(d.conffiles);
	assert_false(d.created);
	cr_doc_release(&d);
}

static void test_parse_import(void **state)
{
	static const char text[] =
		"{\"id\": \"INC-7\", \"source\": \"servicenow\", \"revision\": 3,\n"
		" \"state\": \"approved\", \"requester\": \"carol\", \"title\": \"x\",\n"
		" \"approvals\": [{\"account\": \"dave\", \"time\": \"2027-01-14T09:00:00Z\"},\n"
		"   {\"account\": \"erin\", \"role\": \"reviewer\", \"time\": "
		"\"2027-01-14T10:00:00Z\"}]}";
	struct cr_doc d;

	parse_ok(text, CR_PARSE_IMPORT, &d);
	assert_string_equal(d.source, "servicenow");
	assert_int_equal(d.revision, 3);
	assert_string_equal(d.state, "approved");
	assert_string_equal(d.requester, "carol");
	assert_int_equal(d.n_approvals, 2);
	assert_string_equal(d.approvals[0].account, "dave");
	assert_string_equal(d.approvals[0].role, "approver");
	assert_string_equal(d.approvals[1].role, "reviewer");
	assert_int_equal(d.approvals[1].time_ns, ns_of("2027-01-14T10:00:00Z"));
	cr_doc_release(&d);
}

struct bad_case {
	enum cr_parse_mode mode;
	const char *text;
	const char *at;		/* the offending value: its first occurrence in text */
	const char *msg;	/* part of the message */
};

static void where(const char *text, const char *at, unsigned *line, unsigned *col)
{
	const char *p = strstr(text, at), *start = text;

	if (!p)
		fail_msg("'%s' is not in the case text", at);
	*line = 1;
	for (const char *c = text; c < p; c++)
		if (*c == '\n') {
			(*line)++;
			start = c + 1;
		}
	*col = (unsigned)(p - start) + 1;
}

static void check_bad(const struct bad_case *c)
{
	struct vg_error err;
	struct cr_doc d;
	unsigned line, col;
	int r;

	memset(&err, 0, sizeof(err));
	memset(&d, 0x5a, sizeof(d));
	r = cr_doc_parse_text(c->text, strlen(c->text), c->mode, "rec.json", &d, &err);
	if (r != -EINVAL)
		fail_msg("got %d, want -EINVAL for:\n%s", r, c->text);
	where(c->text, c->at, &line, &col);
	if (err.line != line || err.col != col || !strstr(err.msg, c->msg))
		fail_msg("got %u:%u '%s', want %u:%u '...%s...' for:\n%s", err.line, err.col,
			 err.msg, line, col, c->msg, c->text);
	assert_string_equal(err.file, "rec.json");
	/* the document is cleared (and the sanitizer build checks nothing is left allocated) */
	assert_null(d.title);
	assert_int_equal(d.paths.n, 0);
}

static const struct bad_case bad_cases[] = {
	/* fields and types */
	{ CR_PARSE_NEW, "{\n  \"title\": \"x\",\n  \"colour\": \"red\"\n}", "\"red\"",
	  "unknown field 'colour'" },
	{ CR_PARSE_NEW, "{\n  \"title\": 42\n}", "42", "'title' must be a string, not" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"description\": [\"a\"]}", "[\"a\"]",
	  "'description' must be a string" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n  \"type\": \"urgent\"}", "\"urgent\"",
	  "'type' must be normal, standard or emergency" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n  \"type\": 1}", "1}",
	  "'type' must be normal, standard or emergency" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n  \"significant\": \"yes\"}", "\"yes\"",
	  "'significant' must be true or false" },
	{ CR_PARSE_NEW, "{\"title\": \"a\\u0000b\"}", "\"a\\u",
	  "'title' contains a NUL character" },
	{ CR_PARSE_NEW, "[\"title\"]", "[", "a change record must be a JSON object" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"id\": \"CHG 1\"}", "\"CHG 1\"",
	  "'id' must not contain spaces or '/'" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"id\": \"a/b\"}", "\"a/b\"",
	  "'id' must not contain spaces or '/'" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"id\": \"\"}", "\"\"}", "'id' must not be empty" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"id\": \" a\"}", "\" a\"",
	  "'id' must not start or end with a space" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"id\": \"a\\tb\"}", "\"a\\t",
	  "'id' contains a control character" },
	/* the window */
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\",\n \"window\": {\"start\": \"yesterday\", \"end\": "
	  "\"2027-01-01T00:00:00Z\"}}",
	  "\"yesterday\"", "'window.start' is not an RFC 3339 UTC time: 'yesterday'" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\",\n \"window\": {\"start\": \"2027-01-01T00:00:00Z\",\n"
	  "   \"end\": \"2027-13-01T00:00:00Z\"}}",
	  "\"2027-13", "'window.end' is not an RFC 3339 UTC time" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\",\n \"window\": {\"start\": \"2027-01-01T00:00:00Z\", \"end\": 5}}",
	  "5}", "'window.end' must be a UTC time string" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\",\n \"window\": {\"start\": \"2027-01-02T00:00:00Z\",\n"
	  "   \"end\": \"2027-01-01T00:00:00Z\"}}",
	  "\"2027-01-01", "'window.end' must be after 'window.start'" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\",\n \"window\": {\"start\": \"2027-01-02T00:00:00Z\",\n"
	  "   \"end\": \"2027-01-02T00:00:00Z\"}}",
	  "\"2027-01-02T00:00:00Z\"}", "'window.end' must be after 'window.start'" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"window\": {\"start\": \"2027-01-02T00:00:00Z\"}}",
	  "{\"start", "'window' needs both 'start' and 'end'" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\",\n \"window\": {\"start\": \"2027-01-01T00:00:00Z\", \"end\": "
	  "\"2027-01-02T00:00:00Z\", \"tz\": \"CET\"}}",
	  "\"CET\"", "unknown field 'window.tz'" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"window\": \"today\"}", "\"today\"",
	  "'window' must be an object" },
	/* the scope */
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"paths\": [\"/ok\",\n   \"etc/x\"]}}",
	  "\"etc/x\"", "'scope.paths': 'etc/x' is not an absolute path pattern" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"paths\": [\"/etc/a**\"]}}", "\"/etc/a",
	  "'scope.paths': '**' must be a whole path component in '/etc/a**'" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"paths\": [\"/etc/**x/y\"]}}", "\"/etc/",
	  "'**' must be a whole path component" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"paths\": [\"/a/***\"]}}", "\"/a/",
	  "'**' must be a whole path component" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"paths\": \"/etc\"}}", "\"/etc\"",
	  "'scope.paths' must be an array of strings" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"paths\": [\"/a\", 7]}}", "7]",
	  "'scope.paths' must be a string" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"config\": [\"sysctl\"]}}", "\"sysctl\"",
	  "'scope.config': 'sysctl' is not KIND:KEY" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"config\": [\":net\"]}}", "\":net\"",
	  "'scope.config': ':net' is not KIND:KEY" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"config\": [\"sysctl:\"]}}",
	  "\"sysctl:\"", "is not KIND:KEY" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"files\": [\"/a\"]}}", "[\"/a\"]",
	  "unknown field 'scope.files'" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"hosts\": [\"\"]}}", "\"\"]",
	  "'scope.hosts' must not be empty" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": [\"/a\"]}", "[\"/a\"]",
	  "'scope' must be an object" },
	/* duplicate list entries: the error is at the second one */
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"paths\": [\"/a\", \"/b\", \"/a\"]}}",
	  "\"/a\"]", "'scope.paths' lists '/a' twice" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"hosts\": [\"h1\",\n  \"h1\"]}}",
	  "\"h1\"]", "'scope.hosts' lists 'h1' twice" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"implementers\": [\"al\", \"al\"]}", "\"al\"]",
	  "'implementers' lists 'al' twice" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"scope\": {\"packages\": [\"p\", \"p\"]}}", "\"p\"]",
	  "'scope.packages' lists 'p' twice" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"implementers\": [\"Alice\"]}", "\"Alice\"",
	  "'implementers': 'Alice' is not an account name" },
	/* approvers */
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvers\": {\"count\": 0}}", "0}",
	  "'approvers.count' must be a whole number from 1 to 10" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvers\": {\"count\": 11}}", "11}",
	  "'approvers.count' must be a whole number from 1 to 10" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvers\": {\"count\": -1}}", "-1}",
	  "'approvers.count' must be a whole number from 1 to 10" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvers\": {\"count\": 1.5}}", "1.5}",
	  "'approvers.count' must be a whole number from 1 to 10" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvers\": {\"count\": \"2\"}}", "\"2\"}",
	  "'approvers.count' must be a whole number from 1 to 10" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvers\": {\"role\": \"boss\"}}", "\"boss\"",
	  "'approvers.role' must be approver or administrator" },
	/* CHG-03: a role that does not approve cannot be asked to */
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvers\": {\"role\": \"requester\"}}",
	  "\"requester\"", "'approvers.role' must be approver or administrator" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvers\": {\"quorum\": 2}}", "2}",
	  "unknown field 'approvers.quorum'" },
	/* standing authorizations */
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\", \"type\": \"standard\",\n \"standing\": {\"repositories\": [{\n"
	  "  \"uri\": \"http://d\", \"suite\": \"s\", \"keys\": [\"XYZ0\"]}]}}",
	  "\"XYZ0\"", "'keys': 'XYZ0' is not a key fingerprint (hex digits)" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\", \"type\": \"standard\",\n \"standing\": {\"repositories\": [{\n"
	  "  \"uri\": \"http://d\", \"suite\": \"s\",\n"
	  "  \"keys\": [\"0123456789ABCDEF0123456789ABCDEF0123456\"]}]}}",
	  "\"0123", "is not a 40- or 64-digit key fingerprint" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\", \"type\": \"standard\",\n \"standing\": {\"repositories\": [\n"
	  "  {\"uri\": \"http://d\", \"suite\": \"s\"}]}}",
	  "{\"uri", "a repository needs 'uri', 'suite' and at least one signing key" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\", \"type\": \"standard\",\n \"standing\": {\"repositories\": [\n"
	  "  {\"uri\": \"http://d\", \"mirror\": true}]}}",
	  "true", "unknown field 'mirror' in a repository" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\", \"type\": \"standard\",\n \"standing\": {\"evidence\": \"trust\"}}",
	  "\"trust\"", "'standing.evidence' must be signed, content or owned" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\", \"type\": \"standard\",\n \"standing\": {\"conffiles\": 1}}", "1}",
	  "'standing.conffiles' must be true or false" },
	{ CR_PARSE_NEW,
	  "{\"title\": \"x\", \"type\": \"standard\",\n \"standing\": {\"mirrors\": []}}", "[]",
	  "unknown field 'standing.mirrors'" },
	/* fields of imported records in a new one */
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"source\": \"jira\"}", "\"jira\"",
	  "field 'source' belongs to imported records" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"revision\": 2}", "2}",
	  "field 'revision' belongs to imported records" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"state\": \"approved\"}", "\"approved\"",
	  "field 'state' belongs to imported records" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"requester\": \"carol\"}", "\"carol\"",
	  "field 'requester' belongs to imported records" },
	{ CR_PARSE_NEW, "{\"title\": \"x\",\n \"approvals\": []}", "[]",
	  "field 'approvals' belongs to imported records" },
	/* imported records: what they must have, at the object */
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"revision\": 1, \"state\": \"draft\", \"requester\": \"c\"}", "{",
	  "an imported record needs 'source'" },
	{ CR_PARSE_IMPORT,
	  "{\"source\": \"jira\", \"revision\": 1, \"state\": \"draft\", \"requester\": \"c\"}",
	  "{", "an imported record needs 'id'" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"state\": \"draft\", \"requester\": \"c\"}",
	  "{", "an imported record needs 'revision'" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 1, \"requester\": \"c\"}", "{",
	  "an imported record needs 'state'" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 1, \"state\": \"draft\"}", "{",
	  "an imported record needs 'requester'" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"local\", \"revision\": 1, \"state\": \"draft\",\n"
	  " \"requester\": \"c\"}",
	  "\"local\"", "'source' must name the system the record comes from" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"a/b\", \"revision\": 1, \"state\": \"draft\",\n"
	  " \"requester\": \"c\"}",
	  "\"a/b\"", "'source' must name the system the record comes from" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 0, \"state\": \"draft\",\n"
	  " \"requester\": \"c\"}",
	  "0,", "'revision' must be a whole number from 1" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 1, \"state\": \"done\",\n"
	  " \"requester\": \"c\"}",
	  "\"done\"", "'state': unknown state 'done'" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 1, \"state\": \"draft\",\n"
	  " \"requester\": \"C\"}",
	  "\"C\"", "'requester': 'C' is not an account name" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 1, \"state\": \"draft\",\n"
	  " \"requester\": \"c\", \"approvals\": [{\"account\": \"d\", \"role\": \"boss\",\n"
	  " \"time\": \"2027-01-01T00:00:00Z\"}]}",
	  "\"boss\"", "'approvals[].role': unknown role 'boss'" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 1, \"state\": \"draft\",\n"
	  " \"requester\": \"c\", \"approvals\": [\n  {\"account\": \"d\"}]}",
	  "{\"account", "an approval needs 'account' and 'time'" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 1, \"state\": \"draft\",\n"
	  " \"requester\": \"c\", \"approvals\": [{\"account\": \"d\", \"time\": \"soon\"}]}",
	  "\"soon\"", "'approvals[].time' is not an RFC 3339 UTC time" },
	{ CR_PARSE_IMPORT,
	  "{\"id\": \"I-1\", \"source\": \"jira\", \"revision\": 1, \"state\": \"draft\",\n"
	  " \"requester\": \"c\", \"approvals\": [{\"account\": \"d\", \"by\": \"x\"}]}",
	  "\"x\"", "unknown field 'by' in an approval" },
};

static void test_parse_errors_name_field_and_place(void **state)
{
	static const char syntax[] = "{\"title\": \"x\",\n \"type\": normal}";
	struct vg_error err;
	struct cr_doc d;

	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++)
		check_bad(&bad_cases[i]);
	/* a syntax error comes from the JSON parser, at the first byte that cannot be */
	assert_int_equal(
		cr_doc_parse_text(syntax, strlen(syntax), CR_PARSE_NEW, "s.json", &d, &err),
		-EINVAL);
	assert_string_equal(err.file, "s.json");
	assert_int_equal(err.line, 2);
	assert_int_equal(err.col, 11);
}

static void test_parse_text_limits(void **state)
{
	struct buf b;
	struct cr_doc d;
	struct vg_error err;
	char title[202];

	/* a title of 200 bytes is fine, 201 is not */
	memset(title, 'a', sizeof(title));
	title[200] = '\0';
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_printf(&b, "{\"title\": \"%s\"}", title), 0);
	parse_ok(buf_str(&b), CR_PARSE_NEW, &d);
	cr_doc_release(&d);
	buf_reset(&b);
	title[200] = 'a';
	title[201] = '\0';
	assert_int_equal(buf_printf(&b, "{\"title\": \"%s\"}", title), 0);
	assert_int_equal(cr_doc_parse_text(b.data, b.len, CR_PARSE_NEW, NULL, &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'title' is longer than 200 bytes"));
	assert_int_equal(err.col, 11);
	buf_release(&b);
}

static void make_paths(struct buf *b, int n)
{
	buf_reset(b);
	assert_int_equal(buf_puts(b, "{\"title\": \"x\", \"scope\": {\"paths\": ["), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(buf_printf(b, "%s\"/p/%d\"", i ? "," : "", i), 0);
	assert_int_equal(buf_puts(b, "]}}"), 0);
}

static void test_parse_list_limit(void **state)
{
	struct buf b;
	struct cr_doc d;
	struct vg_error err;

	buf_init(&b, 1 << 20);
	make_paths(&b, 1000);
	parse_ok(buf_str(&b), CR_PARSE_NEW, &d);
	assert_int_equal(d.paths.n, 1000);
	assert_string_equal(d.paths.v[999], "/p/999");
	cr_doc_release(&d);
	make_paths(&b, 1001);
	assert_int_equal(cr_doc_parse_text(b.data, b.len, CR_PARSE_NEW, "big", &d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'scope.paths' has more than 1000 entries"));
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, (unsigned)(strchr(b.data, '[') - b.data) + 1);
	buf_release(&b);
}

/* ---- validation ---- */

static void check_invalid(const char *text, const char *msg)
{
	struct cr_doc d;
	struct vg_error err;

	parse_ok(text, CR_PARSE_NEW, &d);
	memset(&err, 0, sizeof(err));
	assert_int_equal(cr_doc_validate(&d, "v.json", &err), -EINVAL);
	if (!strstr(err.msg, msg))
		fail_msg("got '%s', want '...%s...'", err.msg, msg);
	assert_string_equal(err.file, "v.json");
	cr_doc_release(&d);
}

#define WIN "\"window\": {\"start\": \"2027-01-15T11:00:00Z\", \"end\": \"2027-01-15T13:00:00Z\"}"

static void test_validate(void **state)
{
	struct cr_doc d;
	struct vg_error err;

	check_invalid("{\"scope\": {\"paths\": [\"/a\"]}, " WIN "}", "needs a 'title'");
	check_invalid("{\"title\": \"\", \"scope\": {\"paths\": [\"/a\"]}, " WIN "}",
		      "needs a 'title'");
	check_invalid("{\"title\": \"x\", \"scope\": {\"paths\": [\"/a\"]}}",
		      "a normal change record needs a 'window'");
	check_invalid("{\"title\": \"x\", \"type\": \"standard\",\n"
		      " \"scope\": {\"paths\": [\"/a\"]}}",
		      "a standard change record needs a 'window'");
	check_invalid("{\"title\": \"x\", " WIN ", \"scope\": {\"hosts\": [\"h\"]}}",
		      "needs a scope");
	check_invalid("{\"title\": \"x\", \"type\": \"emergency\",\n"
		      " \"scope\": {\"units\": [\"u\"]}}",
		      "needs a 'justification'");
	check_invalid("{\"title\": \"x\", " WIN ", \"scope\": {\"paths\": [\"/a\"]},\n"
		      " \"standing\": {\"repositories\": [{\"uri\": \"http://d\",\n"
		      " \"suite\": \"s\",\n"
		      " \"keys\": [\"0123456789ABCDEF0123456789ABCDEF01234567\"]}]}}",
		      "'standing' belongs to standard records");

	/* each kind of scope alone is enough; an emergency needs no window */
	parse_ok("{\"title\": \"x\", \"type\": \"emergency\", \"justification\": \"outage\",\n"
		 " \"scope\": {\"config\": [\"sysctl:vm.swappiness\"]}}",
		 CR_PARSE_NEW, &d);
	assert_int_equal(cr_doc_validate(&d, NULL, &err), 0);
	cr_doc_release(&d);
	parse_ok("{\"title\": \"x\", " WIN ", \"scope\": {\"packages\": [\"nginx\"]}}",
		 CR_PARSE_NEW, &d);
	assert_int_equal(cr_doc_validate(&d, NULL, &err), 0);
	cr_doc_release(&d);
}

/* ---- the stored form ---- */

static void roundtrip(const char *text, enum cr_parse_mode mode)
{
	struct cr_doc a, b;
	struct buf j1, j2;

	parse_ok(text, mode, &a);
	buf_init(&j1, 1 << 20);
	buf_init(&j2, 1 << 20);
	assert_int_equal(cr_doc_json(&a, &j1), 0);
	parse_ok(buf_str(&j1), CR_PARSE_STORED, &b);
	assert_int_equal(cr_doc_json(&b, &j2), 0);
	assert_string_equal(buf_str(&j1), buf_str(&j2));
	cr_doc_release(&a);
	cr_doc_release(&b);
	buf_release(&j1);
	buf_release(&j2);
}

static void test_json_roundtrip(void **state)
{
	roundtrip(full_new, CR_PARSE_NEW);
	roundtrip("{\"title\": \"x\"}", CR_PARSE_NEW);
	roundtrip("{\"title\": \"t\\n\\\"q\\\" \\u00e9\", \"type\": \"emergency\",\n"
		  " \"justification\": \"down\", \"scope\": {\"paths\": [\"/a b\"]}}",
		  CR_PARSE_NEW);
	roundtrip("{\"title\": \"vendor\", \"type\": \"standard\", " WIN ",\n"
		  " \"scope\": {\"paths\": [\"/usr/**\"]},\n"
		  " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", \"suite\": \"s\",\n"
		  "   \"component\": \"main\",\n"
		  "   \"keys\": [\"0123456789abcdef0123456789abcdef01234567\",\n"
		  "   \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"]},\n"
		  "   {\"uri\": \"http://e\", \"suite\": \"t\",\n"
		  "    \"keys\": [\"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\"]}],\n"
		  "  \"evidence\": \"owned\", \"conffiles\": true, \"created\": true}}",
		  CR_PARSE_NEW);
	roundtrip("{\"title\": \"no repos\", \"type\": \"standard\", " WIN "}", CR_PARSE_NEW);
	roundtrip("{\"id\": \"INC-7\", \"source\": \"servicenow\", \"revision\": 3,\n"
		  " \"state\": \"approved\", \"requester\": \"carol\", \"title\": \"x\",\n"
		  " \"approvals\": [{\"account\": \"dave\", \"time\": \"2027-01-14T09:00:00Z\"}]}",
		  CR_PARSE_IMPORT);
}

static void test_json_stored_form(void **state)
{
	struct cr_doc d;
	struct buf j;
	struct json_value *v = NULL;
	struct vg_error err;
	const struct json_value *x;

	parse_ok("{\"title\": \"x\", \"type\": \"standard\", " WIN ",\n"
		 " \"scope\": {\"paths\": [\"/usr/**\"]}}",
		 CR_PARSE_NEW, &d);
	buf_init(&j, 1 << 20);
	assert_int_equal(cr_doc_json(&d, &j), 0);
	assert_int_equal(json_parse(j.data, j.len, NULL, "j", &v, &err), 0);
	/* fields come back in one fixed order */
	assert_string_equal(v->obj.members[0].key, "title");
	assert_string_equal(v->obj.members[1].key, "type");
	assert_string_equal(json_get(v, "type")->str.s, "standard");
	x = json_get(json_get(v, "window"), "start");
	assert_non_null(x);
	assert_int_equal(ns_of(x->str.s), ns_of("2027-01-15T11:00:00Z"));
	assert_int_equal(json_get(json_get(v, "approvers"), "count")->i, 1);
	assert_string_equal(json_get(json_get(v, "approvers"), "role")->str.s, "approver");
	assert_int_equal(json_get(json_get(v, "scope"), "hosts")->arr.n, 0);
	/* a standing authorization's defaults are written out */
	x = json_get(v, "standing");
	assert_non_null(x);
	assert_string_equal(json_get(x, "evidence")->str.s, "signed");
	assert_false(json_get(x, "conffiles")->b);
	assert_null(json_get(v, "approvals"));
	assert_null(json_get(v, "source"));
	json_value_free(v);
	buf_release(&j);
	cr_doc_release(&d);
}

/* ---- widening amendments ---- */

static bool widens(const char *old_text, const char *new_text, char *what, size_t size)
{
	struct cr_doc a, b;
	bool w;

	parse_ok(old_text, CR_PARSE_NEW, &a);
	parse_ok(new_text, CR_PARSE_NEW, &b);
	w = cr_doc_widens(&a, &b, what, size);
	cr_doc_release(&a);
	cr_doc_release(&b);
	return w;
}

static void expect_widens(const char *old_text, const char *new_text, const char *what)
{
	char got[256];

	if (!widens(old_text, new_text, got, sizeof(got)))
		fail_msg("not a widening: %s\n  ->\n%s", old_text, new_text);
	if (!strstr(got, what))
		fail_msg("said '%s', want '...%s...'", got, what);
}

static void expect_narrows(const char *old_text, const char *new_text)
{
	char got[256];

	if (widens(old_text, new_text, got, sizeof(got)))
		fail_msg("taken for a widening (%s): %s\n  ->\n%s", got, old_text, new_text);
	assert_string_equal(got, "nothing");
}

#define BASE_OPEN                                                                           \
	"{\"title\": \"x\", \"window\": {\"start\": \"2027-01-15T11:00:00Z\", \"end\": "    \
	"\"2027-01-15T13:00:00Z\"},\n \"implementers\": [\"alice\", \"bob\"], \"approvers\": " \
	"{\"count\": 2},\n"
#define BASE_SCOPE                                                                          \
	" \"scope\": {\"hosts\": [\"h1\", \"h2\"], \"paths\": [\"/a\", \"/b/*\"], \"packages\": " \
	"[\"p\"],\n   \"units\": [\"u\"], \"config\": [\"sysctl:k\"]}"
#define BASE BASE_OPEN BASE_SCOPE "}"

static void test_widens_each_kind(void **state)
{
	char what[256];

	expect_narrows(BASE, BASE);
	expect_widens(BASE,
		      "{\"title\": \"x\", \"type\": \"emergency\", \"approvers\": {\"count\": 2},\n"
		      " \"implementers\": [\"alice\", \"bob\"]," BASE_SCOPE "}",
		      "the type changes from normal to emergency");
	/* the window */
	expect_widens(BASE,
		      "{\"title\": \"x\", \"window\": {\"start\": \"2027-01-15T10:59:59Z\",\n"
		      " \"end\": \"2027-01-15T13:00:00Z\"},\n"
		      " \"implementers\": [\"alice\", \"bob\"], "
		      "\"approvers\": {\"count\": 2}," BASE_SCOPE "}",
		      "the window reaches outside");
	expect_widens(BASE,
		      "{\"title\": \"x\", \"window\": {\"start\": \"2027-01-15T11:00:00Z\",\n"
		      " \"end\": \"2027-01-15T13:00:01Z\"},\n"
		      " \"implementers\": [\"alice\", \"bob\"], "
		      "\"approvers\": {\"count\": 2}," BASE_SCOPE "}",
		      "the window reaches outside");
	expect_widens(BASE,
		      "{\"title\": \"x\",\n \"implementers\": [\"alice\", \"bob\"], "
		      "\"approvers\": {\"count\": 2}," BASE_SCOPE "}",
		      "the window reaches outside");
	/* hosts */
	expect_widens(BASE,
		      BASE_OPEN " \"scope\": {\"hosts\": [\"h1\", \"h2\", \"h3\"], \"paths\": "
				"[\"/a\", \"/b/*\"], \"packages\": [\"p\"],\n \"units\": [\"u\"], "
				"\"config\": [\"sysctl:k\"]}}",
		      "scope.hosts gains 'h3'");
	expect_widens(BASE,
		      BASE_OPEN " \"scope\": {\"paths\": [\"/a\", \"/b/*\"], \"packages\": "
				"[\"p\"],\n \"units\": [\"u\"], \"config\": [\"sysctl:k\"]}}",
		      "scope.hosts now covers every host");
	/* scope entries */
	expect_widens(BASE,
		      BASE_OPEN " \"scope\": {\"hosts\": [\"h1\", \"h2\"], \"paths\": [\"/a\", "
				"\"/b/*\", \"/c\"], \"packages\": [\"p\"],\n \"units\": [\"u\"], "
				"\"config\": [\"sysctl:k\"]}}",
		      "scope.paths gains '/c'");
	expect_widens(BASE,
		      BASE_OPEN " \"scope\": {\"hosts\": [\"h1\", \"h2\"], \"paths\": [\"/a\", "
				"\"/b/*\"], \"packages\": [\"p\", \"q\"],\n \"units\": [\"u\"], "
				"\"config\": [\"sysctl:k\"]}}",
		      "scope.packages gains 'q'");
	expect_widens(BASE,
		      BASE_OPEN " \"scope\": {\"hosts\": [\"h1\", \"h2\"], \"paths\": [\"/a\", "
				"\"/b/*\"], \"packages\": [\"p\"],\n \"units\": [\"u\", \"v\"], "
				"\"config\": [\"sysctl:k\"]}}",
		      "scope.units gains 'v'");
	expect_widens(BASE,
		      BASE_OPEN " \"scope\": {\"hosts\": [\"h1\", \"h2\"], \"paths\": [\"/a\", "
				"\"/b/*\"], \"packages\": [\"p\"],\n \"units\": [\"u\"], "
				"\"config\": [\"sysctl:k\", \"sysctl:j\"]}}",
		      "scope.config gains 'sysctl:j'");
	/* implementers */
	expect_widens(BASE,
		      "{\"title\": \"x\", " WIN ",\n \"implementers\": [\"alice\", \"bob\", "
		      "\"carol\"], \"approvers\": {\"count\": 2}," BASE_SCOPE "}",
		      "implementers gains 'carol'");
	expect_widens(BASE,
		      "{\"title\": \"x\", " WIN ",\n \"approvers\": {\"count\": 2}," BASE_SCOPE "}",
		      "implementers no longer limited");
	/* approvals */
	expect_widens(BASE,
		      "{\"title\": \"x\", " WIN ",\n \"implementers\": [\"alice\", \"bob\"], "
		      "\"approvers\": {\"count\": 1}," BASE_SCOPE "}",
		      "the approvals required change");
	expect_widens(BASE,
		      "{\"title\": \"x\", " WIN ",\n \"implementers\": [\"alice\", \"bob\"], "
		      "\"approvers\": {\"count\": 2, \"role\": \"administrator\"}," BASE_SCOPE "}",
		      "the approvals required change");

	/* narrowing in every dimension at once is not a widening */
	expect_narrows(BASE,
		       "{\"title\": \"y\", \"window\": {\"start\": \"2027-01-15T11:30:00Z\", "
		       "\"end\": \"2027-01-15T12:00:00Z\"},\n \"implementers\": [\"bob\"], "
		       "\"approvers\": {\"count\": 3},\n"
		       " \"scope\": {\"hosts\": [\"h2\"], \"paths\": "
		       "[\"/b/*\"], \"units\": [\"u\"]}}");
	/* an old record without hosts covered every host: naming some narrows it */
	expect_narrows("{\"title\": \"x\", \"scope\": {\"paths\": [\"/a\"]}}",
		       "{\"title\": \"x\", \"scope\": {\"hosts\": [\"h\"], \"paths\": [\"/a\"]}}");
	/* an old record without a window: adding one narrows it */
	expect_narrows("{\"title\": \"x\", \"scope\": {\"paths\": [\"/a\"]}}",
		       "{\"title\": \"x\", " WIN ", \"scope\": {\"paths\": [\"/a\"]}}");
	/* order of entries does not matter */
	expect_narrows(BASE,
		       "{\"title\": \"x\", " WIN ",\n \"implementers\": [\"bob\", \"alice\"], "
		       "\"approvers\": {\"count\": 2},\n \"scope\": {\"hosts\": [\"h2\", \"h1\"], "
		       "\"paths\": [\"/b/*\", \"/a\"], \"packages\": [\"p\"], \"units\": [\"u\"],\n"
		       "  \"config\": [\"sysctl:k\"]}}");
	/* scope is compared entry by entry, not by what a pattern covers */
	expect_widens("{\"title\": \"x\", \"scope\": {\"paths\": [\"/b/**\"]}}",
		      "{\"title\": \"x\", \"scope\": {\"paths\": [\"/b/c\"]}}",
		      "scope.paths gains '/b/c'");
	/* no implementers means anyone may implement: naming some narrows the record */
	assert_false(widens("{\"title\": \"x\", \"scope\": {\"paths\": [\"/a\"]}}",
			    "{\"title\": \"x\", \"implementers\": [\"al\"],"
			    " \"scope\": {\"paths\": [\"/a\"]}}",
			    what, sizeof(what)));
	/* the description of a widening is cut to the buffer */
	assert_true(widens(BASE,
			   "{\"title\": \"x\", " WIN ",\n \"implementers\": [\"alice\", \"bob\"], "
			   "\"approvers\": {\"count\": 1}," BASE_SCOPE "}",
			   what, 8));
	assert_string_equal(what, "the app");
}

#define KEY_A "\"0123456789ABCDEF0123456789ABCDEF01234567\""
#define KEY_B "\"89ABCDEF0123456789ABCDEF0123456789ABCDEF\""
#define STD_OPEN                                                                            \
	"{\"title\": \"v\", \"type\": \"standard\", " WIN ",\n"                                \
	" \"scope\": {\"paths\": [\"/usr/**\"]},\n"

static void test_widens_standing(void **state)
{
	static const char old[] =
		STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", \"suite\": "
			 "\"s\", \"component\": \"main\",\n \"keys\": [" KEY_A ", " KEY_B "]}],"
			 " \"evidence\": \"content\"}}";

	expect_narrows(old, old);
	/* a repository that is new, or differs in suite or component */
	expect_widens(old,
		      STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
			       "\"suite\": \"s\", \"component\": \"main\",\n \"keys\": [" KEY_A
			       "]},\n"
			       " {\"uri\": \"http://e\", \"suite\": \"s\", \"keys\": [" KEY_A "]}],"
			       " \"evidence\": \"content\"}}",
		      "a repository or signing key is added");
	expect_widens(old,
		      STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
			       "\"suite\": \"s2\", \"component\": \"main\",\n \"keys\": [" KEY_A
			       "]}], \"evidence\": \"content\"}}",
		      "a repository or signing key is added");
	expect_widens(old,
		      STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
			       "\"suite\": \"s\",\n \"keys\": [" KEY_A "]}], \"evidence\": "
			       "\"content\"}}",
		      "a repository or signing key is added");
	/* a new signing key */
	expect_widens(old,
		      STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
			       "\"suite\": \"s\", \"component\": \"main\",\n \"keys\": [" KEY_A ", "
			       KEY_B ", \"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\"]}], "
			       "\"evidence\": \"content\"}}",
		      "a repository or signing key is added");
	/* package files the authorization covers */
	expect_widens(old,
		      STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
			       "\"suite\": \"s\", \"component\": \"main\",\n \"keys\": [" KEY_A
			       "]}], \"evidence\": \"content\", \"conffiles\": true}}",
		      "covers more package files");
	expect_widens(old,
		      STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
			       "\"suite\": \"s\", \"component\": \"main\",\n \"keys\": [" KEY_A
			       "]}], \"evidence\": \"content\", \"created\": true}}",
		      "covers more package files");
	/* the evidence level, either way */
	expect_widens(old,
		      STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
			       "\"suite\": \"s\", \"component\": \"main\",\n \"keys\": [" KEY_A
			       "]}], \"evidence\": \"owned\"}}",
		      "the evidence required changes");
	expect_widens(old,
		      STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
			       "\"suite\": \"s\", \"component\": \"main\",\n \"keys\": [" KEY_A
			       "]}]}}",
		      "the evidence required changes");
	/* fewer keys, fewer repositories, fewer file kinds: narrowing */
	expect_narrows(old,
		       STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
				"\"suite\": \"s\", \"component\": \"main\",\n \"keys\": [" KEY_B
				"]}], \"evidence\": \"content\"}}");
	expect_narrows(STD_OPEN " \"standing\": {\"conffiles\": true, \"created\": true}}",
		       STD_OPEN " \"standing\": {\"conffiles\": false}}");
	/* a new key in lower case is the same key */
	expect_narrows(old,
		       STD_OPEN " \"standing\": {\"repositories\": [{\"uri\": \"http://d\", "
				"\"suite\": \"s\", \"component\": \"main\",\n \"keys\": "
				"[\"0123456789abcdef0123456789abcdef01234567\"]}], "
				"\"evidence\": \"content\"}}");
}

/* ---- roles and account names ---- */

static void test_roles(void **state)
{
	static const char *const names[] = { "requester", "implementer", "approver",
					     "reviewer",  "responder",	 "administrator",
					     "auditor" };
	struct vg_error err;
	uint32_t mask = 0;
	enum role r = ROLE_AUDITOR;
	char out[128];

	assert_int_equal(ARRAY_SIZE(names), ROLE__COUNT);
	for (int i = 0; i < ROLE__COUNT; i++) {
		assert_int_equal(role_parse(names[i], &r), 0);
		assert_int_equal(r, i);
		assert_string_equal(role_name((enum role)i), names[i]);
	}
	assert_string_equal(role_name(ROLE__COUNT), "unknown");
	r = ROLE_AUDITOR;
	assert_int_equal(role_parse("admin", &r), -EINVAL);
	assert_int_equal(role_parse("Approver", &r), -EINVAL);
	assert_int_equal(role_parse("", &r), -EINVAL);
	assert_int_equal(r, ROLE_AUDITOR);

	assert_int_equal(role_parse_list("reviewer,approver", &mask, &err), 0);
	assert_int_equal(mask, ROLE_BIT(ROLE_APPROVER) | ROLE_BIT(ROLE_REVIEWER));
	assert_int_equal(role_parse_list("auditor", &mask, &err), 0);
	assert_int_equal(mask, ROLE_BIT(ROLE_AUDITOR));
	assert_int_equal(role_parse_list("approver,approver", &mask, &err), 0);
	assert_int_equal(mask, ROLE_BIT(ROLE_APPROVER));

	mask = 77;
	assert_int_equal(role_parse_list("approver,overlord,reviewer", &mask, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown role 'overlord'"));
	assert_int_equal(mask, 77);
	assert_int_equal(role_parse_list("approver, reviewer", &mask, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown role ' reviewer'"));
	assert_int_equal(role_parse_list("", &mask, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no role given"));
	assert_int_equal(role_parse_list("approver,,reviewer", &mask, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad role list 'approver,,reviewer'"));
	assert_int_equal(role_parse_list(",approver", &mask, &err), -EINVAL);
	assert_int_equal(role_parse_list("approveeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeer", &mask, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "bad role list"));
	assert_int_equal(mask, 77);

	role_format(0, out, sizeof(out));
	assert_string_equal(out, "");
	mask = ROLE_BIT(ROLE_AUDITOR) | ROLE_BIT(ROLE_REQUESTER) | ROLE_BIT(ROLE_APPROVER);
	role_format(mask, out, sizeof(out));
	assert_string_equal(out, "requester,approver,auditor");
	role_format((1u << ROLE__COUNT) - 1, out, sizeof(out));
	assert_string_equal(out, "requester,implementer,approver,reviewer,responder,"
				 "administrator,auditor");
	assert_int_equal(role_parse_list(out, &mask, &err), 0);
	assert_int_equal(mask, (1u << ROLE__COUNT) - 1);
	/* bits beyond the roles are ignored */
	role_format(ROLE_BIT(ROLE_REVIEWER) | (1u << 30), out, sizeof(out));
	assert_string_equal(out, "reviewer");
	/* a short buffer stays terminated */
	role_format(ROLE_BIT(ROLE_REVIEWER), out, 4);
	assert_int_equal(strlen(out), 3);
	out[0] = 'z';
	role_format(ROLE_BIT(ROLE_REVIEWER), out, 0);
	assert_int_equal(out[0], 'z');
}

static void test_account_names(void **state)
{
	char n63[64], n64[65];

	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	assert_true(account_name_valid("alice"));
	assert_true(account_name_valid("a"));
	assert_true(account_name_valid("0ps"));
	assert_true(account_name_valid("a.b_c-d9"));
	assert_true(account_name_valid(n63));
	assert_false(account_name_valid(n64));
	assert_false(account_name_valid(""));
	assert_false(account_name_valid("Alice"));
	assert_false(account_name_valid(".alice"));
	assert_false(account_name_valid("-alice"));
	assert_false(account_name_valid("_alice"));
	assert_false(account_name_valid("al ice"));
	assert_false(account_name_valid("al/ice"));
	assert_false(account_name_valid("al@ice"));
	assert_false(account_name_valid("\xc3\xa9t\xc3\xa9"));
}

/* ---- who is acting ---- */

/* The uid account_whoami() acts on: the login uid when the kernel has one, else the
 * real uid; and the Unix user name it should find. */
static uint32_t acting_uid(bool *by_loginuid, char *user, size_t size)
{
	char b[32] = "";
	unsigned long long v = UINT32_MAX;
	struct passwd pw, *res = NULL;
	char stack[4096];
	uint32_t uid;
	int fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, b, sizeof(b) - 1);

		close(fd);
		if (n > 0) {
			b[n] = '\0';
			v = strtoull(b, NULL, 10);
		}
	}
	*by_loginuid = v != UINT32_MAX;
	uid = *by_loginuid ? (uint32_t)v : (uint32_t)getuid();
	if (getpwuid_r((uid_t)uid, &pw, stack, sizeof(stack), &res) == 0 && res)
		snprintf(user, size, "%s", pw.pw_name);
	else
		snprintf(user, size, "uid %u", uid);
	return uid;
}

static void add_account(struct store *s, const char *name, const char *user, const char *roles,
			int64_t disabled_ns)
{
	struct store_account a = { .name = (char *)name,
				   .unix_user = (char *)user,
				   .roles = (char *)roles,
				   .created_ns = 1,
				   .disabled_ns = disabled_ns };

	assert_int_equal(store_account_add(s, &a, NULL), 0);
}

static void test_bootstrap_flag(void **state)
{
	struct store *s = open_store();
	bool closed = true;
	char *v = NULL;

	assert_int_equal(account_bootstrap_closed(s, &closed), 0);
	assert_false(closed);
	assert_int_equal(account_close_bootstrap(s, 1234567890123LL), 0);
	assert_int_equal(account_bootstrap_closed(s, &closed), 0);
	assert_true(closed);
	assert_int_equal(store_meta_get(s, ACCOUNT_BOOTSTRAP_KEY, &v), 0);
	assert_string_equal(v, "1234567890123");
	free(v);
	store_close(s);
	/* it lasts */
	s = open_store();
	closed = false;
	assert_int_equal(account_bootstrap_closed(s, &closed), 0);
	assert_true(closed);
	store_close(s);
}

static void test_whoami_without_account(void **state)
{
	struct store *s = open_store();
	struct account_who w;
	struct vg_error err;
	char user[64];
	bool by_login;
	uint32_t uid = acting_uid(&by_login, user, sizeof(user));

	memset(&w, 0, sizeof(w));
	if (uid != 0) {
		/* anyone but root needs an account */
		assert_int_equal(account_whoami(s, ROLE__COUNT, &w, &err), -EACCES);
		assert_non_null(strstr(err.msg, "has no Vigil account"));
		assert_non_null(strstr(err.msg, user));
		store_close(s);
		return;
	}
	/* root before any administrator: administrator only */
	assert_int_equal(account_whoami(s, ROLE_ADMINISTRATOR, &w, &err), 0);
	assert_true(w.bootstrap);
	assert_int_equal(w.uid, 0);
	assert_int_equal(w.by_loginuid, by_login);
	assert_string_equal(w.user, user);
	assert_string_equal(w.account, "");
	assert_int_equal(w.roles, ROLE_BIT(ROLE_ADMINISTRATOR));
	assert_true(account_has(&w, ROLE_ADMINISTRATOR));
	assert_false(account_has(&w, ROLE_APPROVER));
	assert_string_equal(account_label(&w), "root");
	assert_int_equal(account_whoami(s, ROLE__COUNT, &w, &err), 0);
	memset(&w, 0x5a, sizeof(w));
	assert_int_equal(account_whoami(s, ROLE_APPROVER, &w, &err), -EACCES);
	assert_non_null(strstr(err.msg, "root acts only as administrator"));
	assert_non_null(strstr(err.msg, "approver role"));
	assert_int_equal(w.uid, 0x5a5a5a5a);
	/* once an administrator account was made, root is nobody without its own */
	assert_int_equal(account_close_bootstrap(s, 99), 0);
	assert_int_equal(account_whoami(s, ROLE_ADMINISTRATOR, &w, &err), -EACCES);
	assert_non_null(strstr(err.msg, "the Unix user 'root' has no account"));
	store_close(s);
}

static void test_whoami_with_account(void **state)
{
	struct store *s = open_store();
	struct account_who w;
	struct vg_error err;
	char user[64];
	bool by_login;
	uint32_t uid = acting_uid(&by_login, user, sizeof(user));

	add_account(s, "ops1", user, "approver,reviewer", 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(account_whoami(s, ROLE_APPROVER, &w, &err), 0);
	assert_int_equal(w.uid, uid);
	assert_int_equal(w.by_loginuid, by_login);
	assert_string_equal(w.user, user);
	assert_string_equal(w.account, "ops1");
	assert_false(w.bootstrap);
	assert_int_equal(w.roles, ROLE_BIT(ROLE_APPROVER) | ROLE_BIT(ROLE_REVIEWER));
	assert_string_equal(account_label(&w), "ops1");
	assert_true(account_has(&w, ROLE_REVIEWER));
	assert_false(account_has(&w, ROLE_ADMINISTRATOR));
	assert_int_equal(account_whoami(s, ROLE__COUNT, &w, &err), 0);
	/* an account is what it says, even for root while the bootstrap rule holds */
	assert_int_equal(account_whoami(s, ROLE_ADMINISTRATOR, &w, &err), -EACCES);
	assert_non_null(strstr(err.msg, "account 'ops1' lacks the administrator role"));
	store_close(s);
}

static void test_whoami_disabled_account(void **state)
{
	struct store *s = open_store();
	struct account_who w;
	struct vg_error err;
	char user[64], want[160];
	bool by_login;

	acting_uid(&by_login, user, sizeof(user));
	add_account(s, "gone", user, "administrator", 5);
	assert_int_equal(account_whoami(s, ROLE__COUNT, &w, &err), -EACCES);
	snprintf(want, sizeof(want), "account 'gone' (Unix user '%s') is disabled", user);
	assert_string_equal(err.msg, want);
	store_close(s);
}

static void test_whoami_account_with_unknown_roles(void **state)
{
	struct store *s = open_store();
	struct account_who w;
	struct vg_error err;
	char user[64];
	bool by_login;

	acting_uid(&by_login, user, sizeof(user));
	add_account(s, "odd", user, "approver,wizard", 0);
	/* roles that do not parse give no role at all */
	assert_int_equal(account_whoami(s, ROLE__COUNT, &w, &err), 0);
	assert_int_equal(w.roles, 0);
	assert_int_equal(account_whoami(s, ROLE_APPROVER, &w, &err), -EACCES);
	store_close(s);
}

static void test_user_of_uid(void **state)
{
	char out[64], tiny[2];

	assert_int_equal(account_user_of_uid(0, out, sizeof(out)), 0);
	assert_string_equal(out, "root");
	assert_int_equal(account_user_of_uid(0, tiny, sizeof(tiny)), -ENAMETOOLONG);
	assert_int_equal(account_user_of_uid(4000000000u, out, sizeof(out)), -ENOENT);
}

/* ---- the review packet ---- */

#define T_OPEN "2027-01-15T11:00:00Z"
#define T_MID "2027-01-15T12:00:00Z"
#define T_CLOSE "2027-01-15T13:00:00Z"
#define R_UUID "01a21b33-3b00-7000-8000-0000000000aa"
#define CU(n) "c0000001-0000-7000-8000-0000000000" n	/* a change's uuid */
#define R2_UUID "01a21b33-3b00-7000-8000-0000000000bb"

struct change_spec {
	const char *uuid;
	int64_t host;
	const char *path;
	int64_t at;		/* seconds from T_MID */
	const char *record;	/* authorizing record, or NULL */
};

static void add_changes(struct store *s, int64_t run, const struct change_spec *c, size_t n)
{
	int64_t mid = ns_of(T_MID);

	for (size_t i = 0; i < n; i++)
		assert_int_equal(store_change_add(s, run, c[i].host, c[i].uuid, c[i].path,
						  strlen(c[i].path), "modified", 1,
						  mid + c[i].at * 1000000000LL, "check", "{}",
						  c[i].record ? "authorized" : "unauthorized",
						  c[i].record),
				 0);
}

static const struct cr_discrepancy *find_key(const struct cr_packet *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->d[i].key, key) == 0)
			return &p->d[i];
	return NULL;
}

static void test_review_packet(void **state)
{
	struct store *s = open_store();
	struct store_run run = { .uuid = "01a21b33-3b00-7000-8000-000000000001", .kind = "check",
				 .started_ns = 5 };
	struct cr_packet p;
	struct cr_doc d;
	int64_t host, other, run_id;
	const struct cr_discrepancy *x;

	assert_int_equal(store_host(s, "web1", &host), 0);
	assert_int_equal(store_host(s, "web2", &other), 0);
	assert_int_equal(store_run_begin(s, host, &run, &run_id), 0);
	{
		const struct change_spec cs[] = {
			/* authorized by the record: matched */
			{ CU("01"), host, "/etc/app.conf", -60, R_UUID },
			{ CU("02"), host, "/etc/app.d/a.conf", 60, R_UUID },
			/* in scope and window, not authorized by it: unexpected */
			{ CU("03"), host, "/etc/app.d/b.conf", 120, NULL },
			{ CU("04"), host, "/etc/app.conf", 180, R2_UUID },
			/* out of scope, out of the window, or another host: not listed */
			{ CU("05"), host, "/etc/other.conf", 0, NULL },
			{ CU("06"), host, "/etc/app.d/sub/c.conf", 0, NULL },
			{ CU("07"), host, "/etc/app.conf", -3601, NULL },
			{ CU("08"), host, "/etc/app.conf", 3601, NULL },
			{ CU("09"), other, "/etc/app.conf", 0, NULL },
			/* the window's edges are inside */
			{ CU("0a"), host, "/etc/app.conf", -3600, NULL },
			{ CU("0b"), host, "/etc/app.conf", 3600, NULL },
		};

		add_changes(s, run_id, cs, ARRAY_SIZE(cs));
	}
	parse_ok("{\"title\": \"x\", \"window\": {\"start\": \"" T_OPEN "\", \"end\": \"" T_CLOSE
		 "\"},\n \"scope\": {\"paths\": [\"/etc/app.conf\", \"/etc/app.d/*.conf\",\n"
		 "  \"/etc/missing.conf\", \"/etc/gone/**\"]}}",
		 CR_PARSE_NEW, &d);
	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(cr_review_packet(s, host, R_UUID, &d, d.window_start, d.window_end, &p),
			 0);
	assert_int_equal(p.n_matched, 2);
	assert_int_equal(p.n_more, 0);
	assert_int_equal(p.n, 5);
	x = find_key(&p, CU("03"));
	assert_non_null(x);
	assert_string_equal(x->text, "unexpected: modified /etc/app.d/b.conf (unauthorized, not "
				     "covered by this record)");
	x = find_key(&p, CU("04"));
	assert_non_null(x);
	assert_string_equal(x->text,
			    "unexpected: modified /etc/app.conf (authorized, by another record)");
	assert_non_null(find_key(&p, CU("0a")));
	assert_non_null(find_key(&p, CU("0b")));
	/* only the literal path nothing authorized; a pattern is never "expected" */
	x = find_key(&p, "expected:/etc/missing.conf");
	assert_non_null(x);
	assert_non_null(strstr(x->text, "unobserved: /etc/missing.conf"));
	assert_null(find_key(&p, "expected:/etc/app.conf"));
	assert_null(find_key(&p, "expected:/etc/gone/**"));
	for (size_t i = 0; i < p.n; i++) {
		const char *k = p.d[i].key;

		assert_true(strcmp(k, CU("05")) &&
			    strcmp(k, CU("06")) &&
			    strcmp(k, CU("07")) &&
			    strcmp(k, CU("08")) &&
			    strcmp(k, CU("09")) &&
			    strcmp(k, CU("01")) &&
			    strcmp(k, CU("02")));
	}
	cr_packet_release(&p);
	assert_int_equal(p.n, 0);
	assert_null(p.d);

	/* the packet of web2: web2's own unauthorized change to /etc/app.conf is unexpected,
	 * none of web1's changes is listed */
	assert_int_equal(cr_review_packet(s, other, R_UUID, &d, d.window_start, d.window_end, &p),
			 0);
	assert_non_null(find_key(&p, CU("09")));
	assert_null(find_key(&p, CU("03")));
	assert_null(find_key(&p, CU("04")));
	assert_non_null(find_key(&p, "expected:/etc/missing.conf"));
	cr_packet_release(&p);
	/* a window that ends before the changes: only unobserved paths remain */
	assert_int_equal(cr_review_packet(s, host, R_UUID, &d, d.window_start,
					  d.window_start + 1000000000LL, &p),
			 0);
	assert_non_null(find_key(&p, CU("0a")));
	assert_null(find_key(&p, CU("03")));
	cr_packet_release(&p);
	cr_doc_release(&d);
	store_close(s);
}

static void test_review_packet_escapes_paths(void **state)
{
	struct store *s = open_store();
	struct store_run run = { .uuid = "01a21b33-3b00-7000-8000-000000000001", .kind = "check",
				 .started_ns = 5 };
	struct cr_packet p;
	struct cr_doc d;
	int64_t host, run_id;
	const struct change_spec cs[] = {
		{ CU("01"), 0, "/etc/a\nb", 0, NULL },
	};
	struct change_spec c = cs[0];

	assert_int_equal(store_host(s, "web1", &host), 0);
	assert_int_equal(store_run_begin(s, host, &run, &run_id), 0);
	c.host = host;
	add_changes(s, run_id, &c, 1);
	parse_ok("{\"title\": \"x\", \"scope\": {\"paths\": [\"/etc/*\"]}}", CR_PARSE_NEW, &d);
	assert_int_equal(cr_review_packet(s, host, R_UUID, &d, 0, INT64_MAX, &p), 0);
	assert_int_equal(p.n, 1);
	assert_null(strchr(p.d[0].text, '\n'));
	assert_non_null(strstr(p.d[0].text, "/etc/a"));
	cr_packet_release(&p);
	cr_doc_release(&d);
	store_close(s);
}

static void test_review_packet_limit(void **state)
{
	struct store *s = open_store();
	struct store_run run = { .uuid = "01a21b33-3b00-7000-8000-000000000001", .kind = "check",
				 .started_ns = 5 };
	struct cr_packet p;
	struct cr_doc d;
	int64_t host, run_id, mid = ns_of(T_MID);

	assert_int_equal(store_host(s, "web1", &host), 0);
	assert_int_equal(store_run_begin(s, host, &run, &run_id), 0);
	for (int i = 0; i < 1005; i++) {
		char uuid[40], path[32];

		snprintf(uuid, sizeof(uuid), "c0000001-0000-7000-8000-%012d", i);
		snprintf(path, sizeof(path), "/srv/f%d", i);
		assert_int_equal(store_change_add(s, run_id, host, uuid, path, strlen(path),
						  "added", 1, mid, "check", "{}", "unauthorized",
						  NULL),
				 0);
	}
	parse_ok("{\"title\": \"x\", \"scope\": {\"paths\": [\"/srv/*\", \"/srv/never\"]}}",
		 CR_PARSE_NEW, &d);
	assert_int_equal(cr_review_packet(s, host, R_UUID, &d, mid, mid, &p), 0);
	assert_int_equal(p.n, 1000);
	/* five more changes and the unobserved path are counted, not listed */
	assert_int_equal(p.n_more, 6);
	assert_int_equal(p.n_matched, 0);
	assert_string_equal(p.d[0].key, CU("00"));
	assert_string_equal(p.d[999].key, "c0000001-0000-7000-8000-000000000999");
	assert_null(find_key(&p, "expected:/srv/never"));
	cr_packet_release(&p);
	cr_doc_release(&d);
	store_close(s);
}

/* ---- reconciliation ---- */

struct fx {
	struct store *s;
	struct reconciler *r;
	struct object_state after;
	struct buf ev;
	struct json_value *j;	/* the last evidence, parsed */
	char rec_uuid[UUID_STR_LEN];
};

static void fx_open(struct fx *f, const char *host_name)
{
	struct reconcile_opts o = { .host_name = host_name, .root = dir };

	memset(f, 0, sizeof(*f));
	f->s = open_store();
	o.store = f->s;
	assert_int_equal(reconciler_new(&o, &f->r), 0);
	object_state_init(&f->after);
	f->after.type = OBJ_FILE;
	f->after.attrs = ATTR_MASK_DEFAULT | ATTR_BIT(ATTR_SHA256);
	memset(f->after.sha256, 0x11, sizeof(f->after.sha256));
	buf_init(&f->ev, 1 << 20);
}

static void fx_close(struct fx *f)
{
	json_value_free(f->j);
	buf_release(&f->ev);
	object_state_release(&f->after);
	assert_null(reconciler_free(f->r));
	store_close(f->s);
}

/* Adds a record whose document is the stored form of text (a new-record document). */
static int64_t add_record(struct fx *f, const char *ext_id, const char *state, int64_t updated,
			  const char *text, char uuid_out[UUID_STR_LEN])
{
	struct cr_doc d;
	struct buf j;
	struct store_record rec;
	int64_t id = 0;

	parse_ok(text, CR_PARSE_NEW, &d);
	buf_init(&j, 1 << 20);
	assert_int_equal(cr_doc_json(&d, &j), 0);
	memset(&rec, 0, sizeof(rec));
	rec.source = (char *)"local";
	rec.ext_id = (char *)ext_id;
	rec.type = (char *)cr_type_name(d.type);
	rec.state = (char *)state;
	rec.revision = 1;
	rec.doc = j.data;
	rec.created_ns = updated;
	rec.updated_ns = updated;
	assert_int_equal(store_record_add(f->s, &rec, "alice", &id), 0);
	{
		/* the history that put it there: an approval for the states after one */
		bool passed = strcmp(state, "draft") && strcmp(state, "submitted") &&
			      strcmp(state, "rejected") && strcmp(state, "cancelled");
		struct store_record_event e = { .time_ns = updated, .action = "approve",
						.from_state = "submitted", .to_state = "approved",
						.account = "bob", .roles = "approver", .revision = 1 };

		if (passed)
			assert_int_equal(store_record_event_add(f->s, id, &e), 0);
	}
	if (uuid_out)
		memcpy(uuid_out, rec.uuid, UUID_STR_LEN);
	buf_release(&j);
	cr_doc_release(&d);
	return id;
}

/* Puts one modified file to the reconciler; parses the evidence into f->j. */
static bool reconcile(struct fx *f, const char *path, const char *when, int64_t delta_s,
		      uint32_t auid)
{
	struct engine_reconcile rc = {
		.path = path,
		.path_len = strlen(path),
		.kind = ENGINE_MODIFIED,
		.after = &f->after,
		.changed = ATTR_BIT(ATTR_SHA256),
		.detected_ns = ns_of(when) + delta_s * 1000000000LL,
		.auid = auid,
		.evidence = &f->ev,
	};
	struct vg_error err;

	buf_reset(&f->ev);
	f->j = json_value_free(f->j);
	assert_int_equal(reconciler_engine_hook(f->r, &rc), 0);
	assert_true(f->ev.len > 0);
	if (json_parse(f->ev.data, f->ev.len, NULL, "evidence", &f->j, &err) != 0)
		fail_msg("evidence is not JSON: %s", buf_str(&f->ev));
	assert_int_equal(f->j->type, JSON_OBJECT);
	if (rc.authorized)
		assert_int_equal(strlen(rc.record_uuid), 36);
	snprintf(f->rec_uuid, sizeof(f->rec_uuid), "%s", rc.authorized ? rc.record_uuid : "");
	return rc.authorized;
}

static const char *ev_str(const struct fx *f, const char *key)
{
	const struct json_value *v = json_get(f->j, key);

	return v && v->type == JSON_STRING ? v->str.s : NULL;
}

/* Whether one of the reasons holds what. */
static bool has_reason(const struct fx *f, const char *what)
{
	const struct json_value *r = json_get(f->j, "reasons");

	assert_non_null(r);
	assert_int_equal(r->type, JSON_ARRAY);
	for (size_t i = 0; i < r->arr.n; i++)
		if (r->arr.items[i]->type == JSON_STRING && strstr(r->arr.items[i]->str.s, what))
			return true;
	return false;
}

static size_t n_reasons(const struct fx *f)
{
	const struct json_value *r = json_get(f->j, "reasons");

	assert_non_null(r);
	return r->arr.n;
}

#define NORMAL_DOC(extra)                                                                   \
	"{\"title\": \"t\", \"window\": {\"start\": \"" T_OPEN "\", \"end\": \"" T_CLOSE "\"},\n" \
	" \"scope\": {\"paths\": [\"/etc/app/*.conf\"]}" extra "}"

static void test_reconcile_approved_in_window(void **state)
{
	struct fx f;
	char uuid[UUID_STR_LEN];
	const struct json_value *rec, *win;

	fx_open(&f, "web1");
	add_record(&f, "CHG-1", "approved", 10, NORMAL_DOC(""), uuid);
	assert_true(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_string_equal(f.rec_uuid, uuid);
	assert_string_equal(ev_str(&f, "by"), "change_record");
	assert_string_equal(ev_str(&f, "path_pattern"), "/etc/app/*.conf");
	rec = json_get(f.j, "record");
	assert_non_null(rec);
	assert_string_equal(json_get(rec, "id")->str.s, "CHG-1");
	assert_string_equal(json_get(rec, "source")->str.s, "local");
	assert_string_equal(json_get(rec, "uuid")->str.s, uuid);
	assert_string_equal(json_get(rec, "type")->str.s, "normal");
	assert_string_equal(json_get(rec, "state")->str.s, "approved");
	assert_int_equal(json_get(rec, "revision")->i, 1);
	win = json_get(f.j, "window");
	assert_non_null(win);
	assert_int_equal(ns_of(json_get(win, "start")->str.s), ns_of(T_OPEN));
	assert_int_equal(ns_of(json_get(win, "end")->str.s), ns_of(T_CLOSE));
	/* no implementers named: nobody to check the actor against */
	assert_int_equal(json_get(f.j, "implementer")->type, JSON_NULL);
	assert_null(json_get(f.j, "actor_known"));
	/* the edges of the window are inside it */
	assert_true(reconcile(&f, "/etc/app/main.conf", T_OPEN, 0, 0));
	assert_true(reconcile(&f, "/etc/app/main.conf", T_CLOSE, 0, 0));
	fx_close(&f);
}

static void test_reconcile_in_progress_authorizes(void **state)
{
	struct fx f;
	char uuid[UUID_STR_LEN];

	fx_open(&f, "web1");
	add_record(&f, "CHG-2", "in_progress", 10, NORMAL_DOC(""), uuid);
	assert_true(reconcile(&f, "/etc/app/x.conf", T_MID, 0, 0));
	assert_string_equal(f.rec_uuid, uuid);
	assert_string_equal(json_get(json_get(f.j, "record"), "state")->str.s, "in_progress");
	fx_close(&f);
}

static void test_reconcile_states_that_cannot_authorize(void **state)
{
	static const char *const states[] = { "draft",	  "submitted", "rejected",
					      "implemented", "reviewed",  "closed",
					      "cancelled" };
	struct fx f;

	fx_open(&f, "web1");
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		char id[16];

		snprintf(id, sizeof(id), "CHG-%zu", i);
		add_record(&f, id, states[i], 10 + (int64_t)i, NORMAL_DOC(""), NULL);
	}
	assert_false(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	/* none of them is even considered */
	assert_int_equal(json_get(f.j, "checked")->i, 0);
	assert_int_equal(n_reasons(&f), 0);
	assert_null(json_get(f.j, "by"));
	fx_close(&f);
}

static void test_reconcile_outside_window(void **state)
{
	struct fx f;

	fx_open(&f, "web1");
	add_record(&f, "CHG-1", "approved", 10, NORMAL_DOC(""), NULL);
	assert_false(reconcile(&f, "/etc/app/main.conf", T_CLOSE, 1, 0));
	assert_int_equal(json_get(f.j, "checked")->i, 1);
	assert_int_equal(n_reasons(&f), 1);
	assert_true(has_reason(&f, "CHG-1: in scope but outside its window"));
	assert_false(reconcile(&f, "/etc/app/main.conf", T_OPEN, -1, 0));
	assert_true(has_reason(&f, "outside its window"));
	fx_close(&f);
}

static void test_reconcile_out_of_scope(void **state)
{
	struct fx f;

	fx_open(&f, "web1");
	add_record(&f, "CHG-1", "approved", 10, NORMAL_DOC(""), NULL);
	assert_false(reconcile(&f, "/etc/app/sub/main.conf", T_MID, 0, 0));
	assert_int_equal(json_get(f.j, "checked")->i, 1);
	/* a record whose scope does not touch the object has nothing to say */
	assert_int_equal(n_reasons(&f), 0);
	assert_false(reconcile(&f, "/etc/app/main.cnf", T_MID, 0, 0));
	fx_close(&f);
}

static void test_reconcile_host_scope(void **state)
{
	struct fx f;

	fx_open(&f, "web1");
	add_record(&f, "CHG-1", "approved", 10,
		   "{\"title\": \"t\", \"window\": {\"start\": \"" T_OPEN "\", \"end\": \"" T_CLOSE
		   "\"},\n \"scope\": {\"hosts\": [\"db*\"], \"paths\": [\"/etc/app/*.conf\"]}}",
		   NULL);
	assert_false(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	add_record(&f, "CHG-2", "approved", 11,
		   "{\"title\": \"t\", \"window\": {\"start\": \"" T_OPEN "\", \"end\": \"" T_CLOSE
		   "\"},\n \"scope\": {\"hosts\": [\"db1\", \"web?\"], \"paths\": "
		   "[\"/etc/app/*.conf\"]}}",
		   NULL);
	assert_true(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_string_equal(json_get(json_get(f.j, "record"), "id")->str.s, "CHG-2");
	fx_close(&f);
}

static void test_reconcile_implementers(void **state)
{
	struct fx f;

	fx_open(&f, "web1");
	add_record(&f, "CHG-1", "approved", 10, NORMAL_DOC(", \"implementers\": [\"alice\"]"),
		   NULL);
	/* root has no account: not an implementer */
	assert_false(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_true(has_reason(&f, "CHG-1: in scope and window, but made by Unix user 'root', "
				   "not an implementer"));
	/* a uid without a Unix user */
	assert_false(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 3999999999u));
	assert_true(has_reason(&f, "made by Unix user 'uid 3999999999', not an implementer"));
	/* root's account, not listed */
	add_account(f.s, "rootops", "root", "implementer", 0);
	assert_false(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_true(has_reason(&f, "made by account 'rootops', not an implementer"));
	/* an unknown actor cannot be checked: authorized, and said so */
	assert_true(reconcile(&f, "/etc/app/main.conf", T_MID, 0, ENGINE_NO_AUID));
	assert_int_equal(json_get(f.j, "actor_known")->type, JSON_BOOL);
	assert_false(json_get(f.j, "actor_known")->b);
	assert_int_equal(json_get(f.j, "implementer")->type, JSON_NULL);
	fx_close(&f);
}

static void test_reconcile_implementer_by_account(void **state)
{
	struct fx f;
	char uuid[UUID_STR_LEN];

	fx_open(&f, "web1");
	add_account(f.s, "rootops", "root", "implementer", 0);
	add_record(&f, "CHG-1", "approved", 10,
		   NORMAL_DOC(", \"implementers\": [\"alice\", \"rootops\"]"), uuid);
	assert_true(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_string_equal(f.rec_uuid, uuid);
	assert_string_equal(ev_str(&f, "implementer"), "rootops");
	assert_null(json_get(f.j, "actor_known"));
	fx_close(&f);
}

#define STANDING_DOC(win_start, win_end)                                                    \
	"{\"title\": \"docs\", \"type\": \"standard\", \"window\": {\"start\": \"" win_start   \
	"\", \"end\": \"" win_end "\"},\n \"scope\": {\"paths\": [\"/usr/share/doc/**\"]}}"

static void test_reconcile_standing_authorization(void **state)
{
	struct fx f;
	char uuid[UUID_STR_LEN];
	const struct json_value *rec;

	fx_open(&f, "web1");
	add_record(&f, "STD-1", "approved", 10,
		   STANDING_DOC("2027-01-01T00:00:00Z", "2027-12-31T00:00:00Z"), uuid);
	assert_true(reconcile(&f, "/usr/share/doc/x/README", T_MID, 0, 1000));
	assert_string_equal(f.rec_uuid, uuid);
	assert_string_equal(ev_str(&f, "by"), "standing_authorization");
	assert_string_equal(ev_str(&f, "path_pattern"), "/usr/share/doc/**");
	rec = json_get(f.j, "record");
	assert_string_equal(json_get(rec, "type")->str.s, "standard");
	assert_string_equal(json_get(rec, "id")->str.s, "STD-1");
	/* no repositories: no package evidence */
	assert_null(json_get(f.j, "package"));
	/* out of its scope */
	assert_false(reconcile(&f, "/usr/share/man/x.1", T_MID, 0, 1000));
	assert_int_equal(n_reasons(&f), 0);
	/* out of its validity */
	assert_false(reconcile(&f, "/usr/share/doc/x/README", "2028-01-01T00:00:00Z", 0, 1000));
	assert_true(has_reason(&f, "STD-1: outside the authorization's validity"));
	fx_close(&f);
}

static void test_reconcile_standing_must_be_approved(void **state)
{
	static const char *const states[] = { "draft", "submitted", "in_progress", "closed" };
	struct fx f;

	fx_open(&f, "web1");
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		char id[16];

		snprintf(id, sizeof(id), "STD-%zu", i);
		add_record(&f, id, states[i], 10 + (int64_t)i,
			   STANDING_DOC("2027-01-01T00:00:00Z", "2027-12-31T00:00:00Z"), NULL);
	}
	assert_false(reconcile(&f, "/usr/share/doc/x/README", T_MID, 0, 1000));
	assert_int_equal(json_get(f.j, "checked")->i, 0);
	fx_close(&f);
}

static void test_reconcile_record_before_standing(void **state)
{
	struct fx f;
	char rec_uuid[UUID_STR_LEN];

	fx_open(&f, "web1");
	/* the standing authorization is older, yet the record that names a person wins */
	add_record(&f, "STD-1", "approved", 10,
		   STANDING_DOC("2027-01-01T00:00:00Z", "2027-12-31T00:00:00Z"), NULL);
	add_record(&f, "CHG-1", "approved", 11,
		   "{\"title\": \"t\", \"window\": {\"start\": \"" T_OPEN "\", \"end\": \"" T_CLOSE
		   "\"},\n \"scope\": {\"paths\": [\"/usr/share/doc/app/*\"]}}",
		   rec_uuid);
	assert_true(reconcile(&f, "/usr/share/doc/app/NEWS", T_MID, 0, 0));
	assert_string_equal(f.rec_uuid, rec_uuid);
	assert_string_equal(ev_str(&f, "by"), "change_record");
	fx_close(&f);
}

static void test_reconcile_sees_later_approval(void **state)
{
	struct fx f;
	struct store_record rec;
	char uuid[UUID_STR_LEN];
	int64_t id;

	fx_open(&f, "web1");
	id = add_record(&f, "CHG-1", "submitted", 10, NORMAL_DOC(""), uuid);
	assert_false(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_int_equal(json_get(f.j, "checked")->i, 0);
	/* approved since (as another process would): the reconciler reloads */
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(store_record_get(f.s, "local", "CHG-1", &rec), 1);
	assert_int_equal(rec.id, id);
	free(rec.state);
	rec.state = strdup("approved");
	assert_non_null(rec.state);
	rec.updated_ns = 20;
	assert_int_equal(store_record_update(f.s, &rec, false, "bob"), 0);
	{
		/* every update comes with its event, as the commands record it */
		struct store_record_event e = { .time_ns = 20, .action = "approve",
						.from_state = "submitted", .to_state = "approved",
						.account = "bob", .roles = "approver",
						.revision = 1 };

		assert_int_equal(store_record_event_add(f.s, id, &e), 0);
	}
	store_record_release(&rec);
	assert_true(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_string_equal(f.rec_uuid, uuid);
	/* and a new record too */
	add_record(&f, "CHG-2", "approved", 30,
		   "{\"title\": \"t\", \"window\": {\"start\": \"" T_OPEN "\", \"end\": \"" T_CLOSE
		   "\"},\n \"scope\": {\"paths\": [\"/opt/new\"]}}",
		   uuid);
	assert_true(reconcile(&f, "/opt/new", T_MID, 0, 0));
	assert_string_equal(f.rec_uuid, uuid);
	fx_close(&f);
}

static void add_start_event(struct fx *f, int64_t record_id, const char *action, int64_t when)
{
	struct store_record_event e = {
		.time_ns = when,
		.action = action,
		.from_state = "draft",
		.to_state = "in_progress",
		.account = "alice",
		.roles = "responder",
		.revision = 1,
	};

	assert_int_equal(store_record_event_add(f->s, record_id, &e), 0);
}

#define EMERGENCY_DOC                                                                       \
	"{\"title\": \"outage\", \"type\": \"emergency\", \"justification\": \"down\",\n"     \
	" \"scope\": {\"paths\": [\"/etc/app/*.conf\"]}}"

static void test_reconcile_emergency_after_start(void **state)
{
	struct fx f;
	char uuid[UUID_STR_LEN];
	int64_t id;

	fx_open(&f, "web1");
	id = add_record(&f, "EM-1", "in_progress", 10, EMERGENCY_DOC, uuid);
	add_start_event(&f, id, "create", ns_of(T_MID) - 3600000000000LL);
	add_start_event(&f, id, "start", ns_of(T_MID) - 600000000000LL);
	/* a later start does not move the first one */
	add_start_event(&f, id, "start", ns_of(T_MID) + 600000000000LL);
	assert_true(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_string_equal(f.rec_uuid, uuid);
	assert_string_equal(json_get(json_get(f.j, "record"), "type")->str.s, "emergency");
	/* no window: none in the evidence */
	assert_null(json_get(f.j, "window"));
	/* at the start itself */
	assert_true(reconcile(&f, "/etc/app/main.conf", T_MID, -600, 0));
	/* before it was started */
	assert_false(reconcile(&f, "/etc/app/main.conf", T_MID, -1200, 0));
	assert_true(has_reason(&f, "EM-1: in scope but before the emergency change was started"));
	fx_close(&f);
}

static void test_reconcile_emergency_not_started(void **state)
{
	struct fx f;

	fx_open(&f, "web1");
	add_record(&f, "EM-1", "draft", 10, EMERGENCY_DOC, NULL);
	add_record(&f, "EM-2", "submitted", 11, EMERGENCY_DOC, NULL);
	add_record(&f, "EM-3", "retro_approved", 12, EMERGENCY_DOC, NULL);
	assert_false(reconcile(&f, "/etc/app/main.conf", T_MID, 0, 0));
	assert_int_equal(json_get(f.j, "checked")->i, 0);
	fx_close(&f);
}

static void test_reconcile_reasons_are_capped(void **state)
{
	struct fx f;

	fx_open(&f, "web1");
	for (int i = 0; i < 8; i++) {
		char id[16];

		snprintf(id, sizeof(id), "CHG-%d", i);
		add_record(&f, id, "approved", 10 + i, NORMAL_DOC(""), NULL);
	}
	assert_false(reconcile(&f, "/etc/app/main.conf", T_CLOSE, 10, 0));
	assert_int_equal(json_get(f.j, "checked")->i, 8);
	assert_int_equal(n_reasons(&f), 5);
	fx_close(&f);
}

static void test_reconcile_path_with_length(void **state)
{
	struct fx f;
	static const char buf[] = "/etc/app/main.confJUNK";
	struct engine_reconcile rc = {
		.path = buf,
		.path_len = 18,
		.kind = ENGINE_MODIFIED,
		.auid = 0,
	};

	fx_open(&f, "web1");
	add_record(&f, "CHG-1", "approved", 10, NORMAL_DOC(""), NULL);
	rc.after = &f.after;
	rc.evidence = &f.ev;
	rc.detected_ns = ns_of(T_MID);
	assert_int_equal(reconciler_engine_hook(f.r, &rc), 0);
	assert_true(rc.authorized);
	buf_reset(&f.ev);
	rc.path_len = sizeof(buf) - 1;
	assert_int_equal(reconciler_engine_hook(f.r, &rc), 0);
	assert_false(rc.authorized);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_and_state_names),
		cmocka_unit_test(test_state_machine_table),
		cmocka_unit_test(test_state_machine_terminal_states),
		cmocka_unit_test(test_allowed_actions),
		cmocka_unit_test(test_pattern_literal),
		cmocka_unit_test(test_pattern_star_within_component),
		cmocka_unit_test(test_pattern_globstar_spans_components),
		cmocka_unit_test(test_pattern_trailing_globstar_includes_the_directory_itself),
		cmocka_unit_test(test_pattern_question_mark),
		cmocka_unit_test(test_pattern_uses_length_not_nul),
		cmocka_unit_test(test_parse_full_record),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_from_tree),
		cmocka_unit_test(test_parse_standing_normalizes_fingerprints),
		cmocka_unit_test(test_parse_import),
		cmocka_unit_test(test_parse_errors_name_field_and_place),
		cmocka_unit_test(test_parse_text_limits),
		cmocka_unit_test(test_parse_list_limit),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_stored_form),
		cmocka_unit_test(test_widens_each_kind),
		cmocka_unit_test(test_widens_standing),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_account_names),
		cmocka_unit_test_setup_teardown(test_bootstrap_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whoami_without_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whoami_with_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whoami_disabled_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whoami_account_with_unknown_roles, setup,
						teardown),
		cmocka_unit_test(test_user_of_uid),
		cmocka_unit_test_setup_teardown(test_review_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_review_packet_escapes_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_review_packet_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_approved_in_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_in_progress_authorizes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_states_that_cannot_authorize, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_outside_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_out_of_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_host_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_implementers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_implementer_by_account, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_standing_authorization, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_standing_must_be_approved, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_record_before_standing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_sees_later_approval, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_emergency_after_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_emergency_not_started, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_reasons_are_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_path_with_length, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
