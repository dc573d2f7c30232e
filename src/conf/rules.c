/*
 * The rule-file parser.  Every rejection names the file, line and column of the
 * offending token: rule files decide what a CA monitors, so nothing is guessed.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/escape.h"
#include "base/object.h"
#include "conf/conffile.h"
#include "conf/rules.h"
#include "base/banned.h"

static const char *const sev_names[] = { "low", "medium", "high", "critical" };

const char *severity_name(enum severity s)
{
	return (unsigned)s < ARRAY_SIZE(sev_names) ? sev_names[s] : "medium";
}

static const struct {
	const char *name;
	uint32_t mask;
} groups[] = {
	{ "all", ATTR_MASK_ALL },
	{ "default", ATTR_MASK_DEFAULT },
	{ "owner", ATTR_BIT(ATTR_UID) | ATTR_BIT(ATTR_GID) },
	{ "content", ATTR_BIT(ATTR_TYPE) | ATTR_BIT(ATTR_SIZE) | ATTR_BIT(ATTR_SHA256) |
			     ATTR_BIT(ATTR_TARGET) },
	{ "times", ATTR_BIT(ATTR_MTIME) | ATTR_BIT(ATTR_CTIME) },
	{ "hashes", ATTR_MASK_HASHES },
	{ "label", ATTR_BIT(ATTR_SELINUX) },
};

static int attr_or_group(const char *s, size_t n, uint32_t *ret)
{
	int a = attr_from_name(s, n);

	if (a >= 0) {
		*ret = ATTR_BIT(a);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		if (strlen(groups[i].name) == n && memcmp(groups[i].name, s, n) == 0) {
			*ret = groups[i].mask;
			return 0;
		}
	}
	return -EINVAL;
}

int rules_parse_attrs(const char *s, size_t n, uint32_t *ret, size_t *ret_bad_off)
{
	uint32_t mask = 0;
	size_t i = 0;
	char op = '+';

	if (n == 0 || s[0] == '+' || s[0] == '-') {
		*ret_bad_off = 0;
		return -EINVAL;
	}
	while (i <= n) {
		size_t start = i;
		uint32_t m;

		while (i < n && s[i] != '+' && s[i] != '-')
			i++;
		/* names that contain '-' ("sha3-256", "blake2b-512") */
		for (int a = 0; a < ATTR__COUNT; a++) {
			const char *nm = attr_name((enum attr)a);
			size_t nl = strlen(nm);

			if (strchr(nm, '-') && n - start >= nl && memcmp(s + start, nm, nl) == 0 &&
			    (start + nl == n || s[start + nl] == '+' || s[start + nl] == '-')) {
				i = start + nl;
				break;
			}
		}
		if (attr_or_group(s + start, i - start, &m) < 0) {
			*ret_bad_off = start;
			return -EINVAL;
		}
		mask = op == '+' ? mask | m : mask & ~m;
		if (i == n)
			break;
		op = s[i++];
		if (i == n) {
			*ret_bad_off = i;
			return -EINVAL;
		}
	}
	*ret = mask | ATTR_BIT(ATTR_TYPE);
	return 0;
}

void ruleset_init(struct ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
}

static void rule_release(struct rule *r)
{
	free(r->pat.p);
	free(r->pat.meta);
	free(r->text);
	free(r->glob);
	for (size_t i = 0; i < r->n_tags; i++)
		free(r->tags[i]);
	free(r->tags);
	free(r->file);
}

void ruleset_remove(struct ruleset *rs, size_t i)
{
	if (i >= rs->n)
		return;
	rule_release(&rs->rules[i]);
	memmove(&rs->rules[i], &rs->rules[i + 1], (rs->n - i - 1) * sizeof(rs->rules[0]));
	rs->n--;
	for (size_t k = i; k < rs->n; k++)
		rs->rules[k].index = (unsigned)k;
}

void ruleset_release(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		rule_release(&rs->rules[i]);
	free(rs->rules);
	conffile_free_list(rs->files, rs->n_files);
	ruleset_init(rs);
}

/*
 * Decodes tok[0..n) into pat.  On error returns -EINVAL with *bad at the offending
 * offset and *why set.
 */
static int pattern_decode(const char *tok, size_t n, struct pattern *pat, size_t *bad,
			  const char **why)
{
	uint8_t *p = malloc(n + 1), *meta = calloc(n + 1, 1);
	size_t o = 0;
	bool seen_meta = false;

	if (!p || !meta) {
		free(p);
		free(meta);
		return -ENOMEM;
	}
	pat->literal_prefix = SIZE_MAX;
	pat->literal_count = 0;
	for (size_t i = 0; i < n; i++) {
		char c = tok[i];

		if (c == '\\') {
			if (i + 1 < n && (tok[i + 1] == '\\' || tok[i + 1] == '*' || tok[i + 1] == '?')) {
				c = tok[++i];
			} else if (i + 3 < n && tok[i + 1] == 'x' && hex_digit(tok[i + 2]) >= 0 &&
				   hex_digit(tok[i + 3]) >= 0) {
				c = (char)(hex_digit(tok[i + 2]) << 4 | hex_digit(tok[i + 3]));
				i += 3;
				if (c == '\0') {
					*bad = i - 3;
					*why = "'\\x00' cannot occur in a path";
					goto fail;
				}
			} else {
				*bad = i;
				*why = "unknown escape (use \\\\, \\*, \\? or \\xHH)";
				goto fail;
			}
			p[o] = (uint8_t)c;
			meta[o++] = PM_LITERAL;
			pat->literal_count++;
			continue;
		}
		if (c == '*' && i + 1 < n && tok[i + 1] == '*') {
			/* '**' must be a whole component */
			if ((o == 0 || p[o - 1] != '/' || meta[o - 1] != PM_LITERAL) ||
			    (i + 2 < n && tok[i + 2] != '/')) {
				*bad = i;
				*why = "'**' must be a whole path component";
				goto fail;
			}
			/* the '/' before a globstar may match nothing ("/a/**" matches "/a") */
			if (!seen_meta)
				pat->literal_prefix = o - 1;
			pat->literal_count--;
			seen_meta = true;
			p[o] = '*';
			meta[o++] = PM_GLOBSTAR;
			i++;
			continue;
		}
		if (c == '*' || c == '?') {
			if (!seen_meta)
				pat->literal_prefix = o;
			seen_meta = true;
			p[o] = (uint8_t)c;
			meta[o++] = c == '*' ? PM_STAR : PM_QMARK;
			continue;
		}
		if (c == '[' || c == ']' || c == '{' || c == '}') {
			/* reserved so a later bracket syntax cannot change old rules' meaning */
			*bad = i;
			*why = "'[', ']', '{' and '}' are reserved; write them as \\x5b, \\x5d, \\x7b, \\x7d";
			goto fail;
		}
		p[o] = (uint8_t)c;
		meta[o++] = PM_LITERAL;
		pat->literal_count++;
	}
	if (o == 0 || p[0] != '/' || meta[0] != PM_LITERAL) {
		*bad = 0;
		*why = "a pattern must be an absolute path starting with '/'";
		goto fail;
	}
	/* components: no empty ones, no '.' or '..', no trailing '/' (except the root) */
	for (size_t i = 0; i < o; i++) {
		if (p[i] != '/' || meta[i] != PM_LITERAL)
			continue;
		if (i + 1 == o && o > 1) {
			*bad = n - 1;
			*why = "trailing '/' (write '/dir' or '/dir/**')";
			goto fail;
		}
		if (i + 1 < o && p[i + 1] == '/' && meta[i + 1] == PM_LITERAL) {
			*bad = i + 1;
			*why = "empty path component";
			goto fail;
		}
		if (i + 1 < o && p[i + 1] == '.' && meta[i + 1] == PM_LITERAL &&
		    (i + 2 == o || (p[i + 2] == '/' && meta[i + 2] == PM_LITERAL) ||
		     (p[i + 2] == '.' && meta[i + 2] == PM_LITERAL &&
		      (i + 3 == o || (p[i + 3] == '/' && meta[i + 3] == PM_LITERAL))))) {
			*bad = i + 1;
			*why = "'.' and '..' components are not allowed";
			goto fail;
		}
	}
	if (pat->literal_prefix == SIZE_MAX)
		pat->literal_prefix = o;
	p[o] = '\0';
	pat->p = p;
	pat->meta = meta;
	pat->n = o;
	return 0;
fail:
	free(p);
	free(meta);
	return -EINVAL;
}

struct parse_state {
	struct ruleset *rs;
	unsigned depth;
};

static int load_file_depth(struct ruleset *rs, const char *path, unsigned depth,
			   struct vg_error *err);

static bool same_pattern(const struct rule *a, const struct rule *b)
{
	if (a->okind || b->okind)
		return a->okind == b->okind && strcmp(a->glob, b->glob) == 0;
	return a->exact == b->exact && a->pat.n == b->pat.n &&
	       memcmp(a->pat.p, b->pat.p, a->pat.n) == 0 &&
	       memcmp(a->pat.meta, b->pat.meta, a->pat.n) == 0;
}

static bool same_effect(const struct rule *a, const struct rule *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == RULE_EXCLUDE)
		return true;
	if (a->attrs != b->attrs || a->growing != b->growing || a->diff != b->diff ||
	    a->one_filesystem != b->one_filesystem || a->severity != b->severity ||
	    a->n_tags != b->n_tags)
		return false;
	for (size_t i = 0; i < a->n_tags; i++)
		if (strcmp(a->tags[i], b->tags[i]) != 0)
			return false;
	return true;
}

static int add_tag(struct rule *r, const char *t, size_t n)
{
	char **nt = realloc(r->tags, (r->n_tags + 1) * sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	r->tags = nt;
	nt[r->n_tags] = strndup(t, n);
	if (!nt[r->n_tags])
		return -ENOMEM;
	r->n_tags++;
	return 0;
}

static bool valid_tag(const char *t, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static int handle_include(struct parse_state *st, const char *file, unsigned lineno, char *line,
			  char *arg, struct vg_error *err)
{
	_cleanup_free_ char *target = NULL, *dircopy = NULL;
	char *end = arg + strlen(arg);
	unsigned col = (unsigned)(arg - line) + 1;

	while (end > arg && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (!*arg)
		return vg_error_set(err, -EINVAL, file, lineno, col, "'include' needs a file name");
	if (strpbrk(arg, " \t"))
		return vg_error_set(err, -EINVAL, file, lineno, col,
				    "'include' takes exactly one file name");
	if (st->depth + 1 >= RULES_INCLUDE_DEPTH)
		return vg_error_set(err, -ELOOP, file, lineno, col,
				    "more than %d files in a chain of includes (a cycle?)",
				    RULES_INCLUDE_DEPTH);
	if (arg[0] == '/') {
		target = strdup(arg);
	} else {
		dircopy = strdup(file);
		if (!dircopy || asprintf(&target, "%s/%s", dirname(dircopy), arg) < 0)
			target = NULL;
	}
	if (!target)
		return -ENOMEM;
	{
		struct vg_error inner;
		int r = load_file_depth(st->rs, target, st->depth + 1, &inner);

		if (r >= 0)
			return 0;
		/* an unreadable include is reported at the include line; errors inside the
		 * included file keep their own location */
		if (inner.line == 0 && strcmp(inner.file, target) == 0)
			return vg_error_set(err, r, file, lineno, col, "cannot include '%s': %s",
					    target, inner.msg);
		if (err)
			*err = inner;
		return r;
	}
}

/* A key pattern of a rule for collected objects: "\xHH" gives the byte HH (a space in
 * "firewall:inet\x20filter\x20input"), escaped for fnmatch(3) when it is special to it;
 * everything else is passed to fnmatch as written. */
static char *key_glob(const char *p, size_t n)
{
	struct buf b;
	char *ret = NULL;
	int r = 0;

	buf_init(&b, 4 * n + 1);
	for (size_t i = 0; r == 0 && i < n; i++) {
		unsigned v;

		if (p[i] == '\\' && i + 3 < n && p[i + 1] == 'x' && isxdigit((unsigned char)p[i + 2]) &&
		    isxdigit((unsigned char)p[i + 3]) && sscanf(p + i + 2, "%2x", &v) == 1 && v) {
			if (strchr("*?[\\", (int)v))
				r = buf_putc(&b, '\\');
			if (r == 0)
				r = buf_putc(&b, (char)v);
			i += 3;
		} else {
			r = buf_putc(&b, p[i]);
		}
	}
	if (r == 0)
		r = buf_putc(&b, '\0');
	if (r == 0)
		r = buf_detach(&b, &ret, NULL);
	buf_release(&b);
	return ret;
}

static int rule_line(void *ud, const char *file, unsigned lineno, char *line, struct vg_error *err)
{
	struct parse_state *st = ud;
	struct ruleset *rs = st->rs;
	struct rule r = { 0 };
	char *p = line;
	bool have_attrs = false, have_sev = false;
	size_t bad = 0;
	const char *why = NULL;
	int ret;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	if (strncmp(p, "include", 7) == 0 && (p[7] == ' ' || p[7] == '\t' || p[7] == '\0')) {
		char *a = p + 7;

		while (*a == ' ' || *a == '\t')
			a++;
		return handle_include(st, file, lineno, line, a, err);
	}
	if (rs->n >= RULES_MAX)
		return vg_error_set(err, -E2BIG, file, lineno, 1, "more than %d rules", RULES_MAX);
	r.severity = SEV_MEDIUM;
	r.attrs = ATTR_MASK_DEFAULT;
	if (*p == '!') {
		r.kind = RULE_EXCLUDE;
		p++;
	}
	if (*p == '=') {
		r.exact = true;
		p++;
	}
	{
		char *tok = p;
		size_t n = strcspn(tok, " \t");
		const char *colon = n ? memchr(tok, ':', n) : NULL;
		int k = colon && tok[0] != '/' ? object_kind_find(tok, (size_t)(colon - tok)) : -1;

		if (colon && tok[0] != '/' && k < 0)
			return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(tok - line) + 1,
					    "unknown object kind '%.*s'", (int)(colon - tok), tok);
		if (k >= 0) {
			/* collected objects: a kind and a key pattern */
			if (r.exact)
				return vg_error_set(err, -EINVAL, file, lineno,
						    (unsigned)(tok - line), "'=' applies to files only");
			if ((size_t)(colon - tok) + 1 == n)
				return vg_error_set(err, -EINVAL, file, lineno,
						    (unsigned)(colon - line) + 2,
						    "expected a key pattern after '%.*s' (e.g. '%.*s*')",
						    (int)(colon - tok) + 1, tok, (int)(colon - tok) + 1,
						    tok);
			r.okind = k + 1;
			r.attrs = ATTR_BIT(ATTR_TYPE);
			r.glob = key_glob(colon + 1, n - (size_t)(colon - tok) - 1);
			r.text = strndup(tok, n);
			if (!r.glob || !r.text) {
				rule_release(&r);
				return -ENOMEM;
			}
			p = tok + n;
			goto options;
		}
		if (n == 0 || tok[0] != '/')
			return vg_error_set(err, -EINVAL, file, lineno, (unsigned)(tok - line) + 1,
					    "expected a path pattern starting with '/'");
		ret = pattern_decode(tok, n, &r.pat, &bad, &why);
		if (ret == -ENOMEM)
			return ret;
		if (ret < 0)
			return vg_error_set(err, -EINVAL, file, lineno,
					    (unsigned)(tok - line + bad) + 1, "bad pattern: %s", why);
		r.text = strndup(tok, n);
		p = tok + n;
	}
options:
	ret = 0;
	while (ret == 0) {
		char *tok;
		size_t n;
		unsigned col;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		tok = p;
		n = strcspn(tok, " \t");
		p = tok + n;
		col = (unsigned)(tok - line) + 1;
		if (r.kind == RULE_EXCLUDE) {
			ret = vg_error_set(err, -EINVAL, file, lineno, col,
					   "an exclusion takes no options, got '%.*s'", (int)n, tok);
		} else if (tok[0] == '@') {
			if (!valid_tag(tok + 1, n - 1))
				ret = vg_error_set(err, -EINVAL, file, lineno, col,
						   "bad tag '%.*s' (letters, digits, '-', '_', '.')",
						   (int)n, tok);
			else
				ret = add_tag(&r, tok + 1, n - 1);
		} else if (n > 9 && strncmp(tok, "severity=", 9) == 0) {
			unsigned i;

			for (i = 0; i < ARRAY_SIZE(sev_names); i++)
				if (strlen(sev_names[i]) == n - 9 &&
				    strncmp(tok + 9, sev_names[i], n - 9) == 0)
					break;
			if (have_sev)
				ret = vg_error_set(err, -EINVAL, file, lineno, col,
						   "severity given twice");
			else if (i == ARRAY_SIZE(sev_names))
				ret = vg_error_set(err, -EINVAL, file, lineno, col + 9,
						   "unknown severity '%.*s' (low, medium, high, critical)",
						   (int)n - 9, tok + 9);
			r.severity = (enum severity)i;
			have_sev = true;
		} else if (r.okind) {
			ret = vg_error_set(err, -EINVAL, file, lineno, col,
					   "'%.*s': a rule for %s objects takes only severity= and "
					   "@tags", (int)n, tok, object_kinds[r.okind - 1]);
		} else if (n == 7 && strncmp(tok, "growing", 7) == 0) {
			r.growing = true;
		} else if (n == 14 && strncmp(tok, "one-filesystem", 14) == 0) {
			r.one_filesystem = true;
		} else if (n == 4 && strncmp(tok, "diff", 4) == 0) {
			r.diff = true;
		} else if (memchr(tok, '=', n)) {
			ret = vg_error_set(err, -EINVAL, file, lineno, col, "unknown option '%.*s'",
					   (int)(strchr(tok, '=') - tok), tok);
		} else if (have_attrs) {
			ret = vg_error_set(err, -EINVAL, file, lineno, col,
					   "attributes given twice ('%.*s'); join them with '+'",
					   (int)n, tok);
		} else if (rules_parse_attrs(tok, n, &r.attrs, &bad) < 0) {
			size_t e = bad;

			while (e < n && tok[e] != '+' && tok[e] != '-')
				e++;
			ret = vg_error_set(err, -EINVAL, file, lineno, col + (unsigned)bad,
					   "unknown attribute or keyword '%.*s'", (int)(e - bad),
					   tok + bad);
		} else {
			have_attrs = true;
		}
	}
	if (ret == 0 && r.growing && !(r.attrs & ATTR_BIT(ATTR_SHA256)))
		ret = vg_error_set(err, -EINVAL, file, lineno, 1,
				   "'growing' needs the sha256 attribute to check the old prefix");
	if (ret == 0 && !r.text)
		ret = -ENOMEM;
	if (ret == 0) {
		r.file = strdup(file);
		r.line = lineno;
		r.index = (unsigned)rs->n;
		if (!r.file)
			ret = -ENOMEM;
	}
	for (size_t i = 0; ret == 0 && i < rs->n; i++) {
		const struct rule *o = &rs->rules[i];

		if (!same_pattern(o, &r))
			continue;
		if (same_effect(o, &r))
			ret = vg_error_set(err, -EINVAL, file, lineno, 1,
					   "duplicate of the rule at %s:%u", o->file, o->line);
		else
			ret = vg_error_set(err, -EINVAL, file, lineno, 1,
					   "conflicts with the rule at %s:%u for the same pattern",
					   o->file, o->line);
	}
	if (ret == 0) {
		struct rule *nr = realloc(rs->rules, (rs->n + 1) * sizeof(*nr));

		if (!nr) {
			ret = -ENOMEM;
		} else {
			rs->rules = nr;
			nr[rs->n++] = r;
			return 0;
		}
	}
	rule_release(&r);
	return ret;
}

static int remember(struct ruleset *rs, const char *path)
{
	char **nf = realloc(rs->files, (rs->n_files + 1) * sizeof(*nf));

	if (!nf)
		return -ENOMEM;
	rs->files = nf;
	nf[rs->n_files] = strdup(path);
	if (!nf[rs->n_files])
		return -ENOMEM;
	rs->n_files++;
	return 0;
}

static int parse_text_depth(struct ruleset *rs, const char *name, const char *text, size_t len,
			    unsigned depth, struct vg_error *err)
{
	struct parse_state st = { .rs = rs, .depth = depth };

	return conffile_each_line(name, text, len, rule_line, &st, err);
}

int ruleset_parse_text(struct ruleset *rs, const char *name, const char *text, size_t len,
		       struct vg_error *err)
{
	return parse_text_depth(rs, name, text, len, 0, err);
}

static int load_file_depth(struct ruleset *rs, const char *path, unsigned depth,
			   struct vg_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	vg_error_clear(err);
	r = conffile_read(path, &text, &len, err);
	if (r < 0)
		return r;
	r = remember(rs, path);
	if (r < 0)
		return r;
	return parse_text_depth(rs, path, text, len, depth, err);
}

int ruleset_load_file(struct ruleset *rs, const char *path, struct vg_error *err)
{
	return load_file_depth(rs, path, 0, err);
}

int ruleset_load_dir(struct ruleset *rs, const char *dir, struct vg_error *err)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	r = conffile_list_dir(dir, ".rules", &names, &n, err);
	if (r == -ENOENT)
		return vg_error_set(err, r, dir, 0, 0, "rules directory does not exist");
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r >= 0; i++)
		r = load_file_depth(rs, names[i], 0, err);
	conffile_free_list(names, n);
	return r < 0 ? r : 0;
}
