/*
 * The exec collector: commands the operator configured ("exec:NAME"), whose output is
 * the object.  What a host is sometimes only shows through a program (a RAID
 * controller's configuration, a cloud agent's status, `ip rule`), so the output becomes
 * a state like any file: a change of it is a change of the host.
 *
 * Each command runs without a shell, with a small fixed environment, stderr to
 * /dev/null and a deadline.  Its output is normalized so that noise does not count as
 * a change: CRLF becomes LF, trailing blanks of each line and trailing empty lines go,
 * and the text ends with one newline.  The state keeps the SHA-256 of that text (so even
 * a secret output shows that it changed), the exit status (a non-zero exit is state,
 * not a failure), the line count, whether the output was cut at the capture cap, and,
 * for a small output of an exec not marked secret, the text itself after redaction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "base/buf.h"
#include "base/escape.h"
#include "base/json.h"
#include "base/object.h"
#include "base/proc.h"
#include "collect/collect.h"
#include "crypto/hash.h"
#include "base/banned.h"

#define EXEC_CAPTURE_MAX (1024u * 1024)
#define EXEC_TEXT_MAX (64u * 1024)

/* CRLF to LF, trailing blanks of each line off, trailing empty lines off, one final LF. */
static int normalize(const char *p, size_t n, struct buf *out, size_t *ret_lines)
{
	size_t lines = 0, i = 0;
	int r = 0;

	while (r == 0 && i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - p) : n, le = e;

		if (le > i && p[le - 1] == '\r')
			le--;
		while (le > i && (p[le - 1] == ' ' || p[le - 1] == '\t'))
			le--;
		r = buf_append(out, p + i, le - i);
		if (r == 0)
			r = buf_putc(out, '\n');
		i = e + 1;
	}
	/* drop the empty lines at the end */
	while (r == 0 && out->len > 0 && out->data[out->len - 1] == '\n' &&
	       (out->len == 1 || out->data[out->len - 2] == '\n'))
		out->data[--out->len] = '\0';
	if (r == 0 && !out->data)
		r = buf_puts(out, "");
	for (size_t k = 0; r == 0 && k < out->len; k++)
		lines += out->data[k] == '\n';
	if (r == 0)
		*ret_lines = lines;
	return r;
}

/* Text for display and JSON: valid UTF-8 as it is, tabs and newlines kept, every other
 * control character and every byte of malformed UTF-8 as "\xHH". */
static int displayable(const char *p, size_t n, struct buf *out)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n;) {
		unsigned char c = (unsigned char)p[i];
		size_t k = c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)
				   ? 1
				   : escape_utf8_len(p + i, n - i); /* the escape rule's UTF-8 */

		if (k == 0) {
			r = buf_printf(out, "\\x%02x", c);
			i++;
		} else {
			r = buf_append(out, p + i, k);
			i += k;
		}
	}
	if (r == 0 && !out->data)
		r = buf_puts(out, "");
	return r;
}

static void format_timeout(int64_t ns, char *out, size_t size)
{
	if (ns % 1000000000 == 0)
		snprintf(out, size, "%lld s", (long long)(ns / 1000000000));
	else
		snprintf(out, size, "%lld ms", (long long)(ns / 1000000));
}

/* Runs one exec and adds its item.  Returns 0 or a negative errno with err filled. */
static int collect_one(const struct coll_opts *o, const struct coll_exec *x, struct coll_set *out,
		       struct vg_error *err)
{
	int64_t timeout = COLL_TIMEOUT_DEFAULT_NS;
	struct proc_result run = { 0 };
	struct buf norm, red, shown, state;
	struct json_writer w;
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], limit[32];
	const char *text = NULL;
	size_t lines = 0;
	int r, status;

	if (x->timeout_ns > 0)
		timeout = x->timeout_ns;
	else if (o->timeout_ns > 0)
		timeout = o->timeout_ns;
	buf_init(&norm, EXEC_CAPTURE_MAX + 4096);
	buf_init(&red, 2 * EXEC_TEXT_MAX);
	buf_init(&shown, COLL_TEXT_MAX);
	buf_init(&state, COLL_STATE_MAX);
	if (!x->name || !x->name[0])
		return vg_error_set(err, -EINVAL, NULL, 0, 0, "an exec has no name");
	if (!x->argv || !x->argv[0] || x->argv[0][0] != '/')
		return vg_error_set(err, -EINVAL, NULL, 0, 0,
				    "exec '%s': the command must be an absolute path", x->name);
	r = proc_run(&(struct proc_opts){ .argv = x->argv,
					  .envp = coll_envp,
					  .timeout_ns = timeout,
					  .capture_max = EXEC_CAPTURE_MAX,
					  .stderr_null = true },
		     &run);
	if (r < 0) {
		vg_error_set(err, r, NULL, 0, 0, "exec '%s': cannot run '%s': %s", x->name,
			     x->argv[0], strerror(-r));
		goto out;
	}
	if (run.timed_out) {
		format_timeout(timeout, limit, sizeof(limit));
		r = vg_error_set(err, -ETIME, NULL, 0, 0,
				 "exec '%s': '%s' did not finish within %s; killed", x->name,
				 x->argv[0], limit);
		goto out;
	}
	/* a signal shows as 128 + its number, as shells report it */
	if (WIFEXITED(run.wait_status))
		status = WEXITSTATUS(run.wait_status);
	else if (WIFSIGNALED(run.wait_status))
		status = 128 + WTERMSIG(run.wait_status);
	else
		status = -1;
	r = normalize(run.output, run.output_len, &norm, &lines);
	if (r == 0)
		r = sha256_buf(norm.data, norm.len, digest);
	if (r < 0)
		goto fail;
	hex_encode(digest, sizeof(digest), hex);
	if (!x->secret && norm.len <= EXEC_TEXT_MAX) {
		r = coll_redact(norm.data, norm.len, &red);
		if (r == 0)
			r = displayable(red.data, red.len, &shown);
		/* grown past the caps by redaction marks or escapes: as for a big output */
		if (r == 0)
			text = shown.data;
		else if (r != -E2BIG)
			goto fail;
	}
	for (int pass = 0; pass < 2; pass++) {
		const char *in_state = pass == 0 ? text : NULL;

		buf_reset(&state);
		jw_init(&w, &state);
		jw_obj_open(&w);
		jw_key(&w, "exit");
		jw_i64(&w, status);
		jw_key(&w, "lines");
		jw_u64(&w, lines);
		jw_key(&w, "sha256");
		jw_str(&w, hex);
		jw_key(&w, "text");
		if (in_state)
			jw_str(&w, in_state);
		else
			jw_null(&w);
		jw_key(&w, "truncated");
		jw_bool(&w, run.truncated);
		jw_obj_close(&w);
		r = w.err;
		if (r == 0)
			r = coll_set_add(out, x->name, state.data, text);
		/* a text that does not fit the state stays in the item's text only */
		if (r != -E2BIG || !in_state)
			break;
	}
	if (r == -EEXIST) {
		r = vg_error_set(err, -EEXIST, NULL, 0, 0, "exec '%s': the name is used twice",
				 x->name);
		goto out;
	}
fail:
	if (r < 0)
		vg_error_set(err, r, NULL, 0, 0, "exec '%s': cannot record its output: %s",
			     x->name, strerror(-r));
out:
	/* the output may hold what redaction hid, or a secret exec's secret */
	if (run.output)
		explicit_bzero(run.output, run.output_len);
	if (norm.data)
		explicit_bzero(norm.data, norm.len);
	if (red.data)
		explicit_bzero(red.data, red.len);
	proc_result_release(&run);
	buf_release(&norm);
	buf_release(&red);
	buf_release(&shown);
	buf_release(&state);
	return r;
}

/*
 * One failing exec does not hide the others: every exec is run, the ones that worked are
 * added to out, and the return is the first failure (with err about it) or 0.  So the
 * caller records objects for the successes and a monitoring gap for the failure; a
 * timeout is -ETIME, a command that cannot start the errno of the start (-ENOENT,
 * -EACCES), both naming the exec and its program.
 */
int coll_exec_collect(const struct coll_opts *o, struct coll_set *out, struct vg_error *err)
{
	int first = 0;

	for (size_t i = 0; i < o->n_execs; i++) {
		struct vg_error e1;
		int r;

		vg_error_clear(&e1);
		r = collect_one(o, &o->execs[i], out, &e1);
		if (r < 0 && first == 0) {
			first = r;
			if (err)
				*err = e1;
		}
	}
	return first;
}
