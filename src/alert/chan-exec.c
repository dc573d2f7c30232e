/*
 * The exec channel: a local command the operator chose (a ticket-system client, a pager
 * gateway) gets the event JSON on its stdin.  No shell is involved: the configured words
 * are the argv.  The command also finds the alert's identity in its environment, so a
 * script need not parse JSON to route on it.
 *
 * Exit 0 is delivered, 75 (EX_TEMPFAIL, as sendmail and friends use it) asks for a retry,
 * any other status is taken as a refusal that retrying would not change; a command killed
 * by a signal or by the timeout is retried.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "alert/channel-int.h"
#include "base/banned.h"

#define EX_TEMPFAIL 75

int chan_exec_deliver(const struct channel *ch, const struct channel_message *m,
		      struct channel_result *res)
{
	char e_alert[128], e_msg[128], e_event[96], e_sev[64], e_test[32];
	char *envp[] = {
		(char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		(char *)"LC_ALL=C.UTF-8",
		e_alert, e_msg, e_event, e_sev, e_test, NULL,
	};
	const char *json = m->json ? m->json : "{}";
	struct proc_result run = { 0 };
	char line[256];
	int r;

	snprintf(e_alert, sizeof(e_alert), "VIGIL_ALERT_ID=%s", m->alert_id);
	snprintf(e_msg, sizeof(e_msg), "VIGIL_MESSAGE_ID=%s", m->message_id);
	snprintf(e_event, sizeof(e_event), "VIGIL_EVENT=%s", m->event);
	snprintf(e_sev, sizeof(e_sev), "VIGIL_SEVERITY=%s", m->severity ? m->severity : "");
	snprintf(e_test, sizeof(e_test), "VIGIL_CONTROL_TEST=%s", m->control_test ? "1" : "0");

	r = proc_run(&(struct proc_opts){ .argv = ch->argv,
					  .envp = envp,
					  .in = json,
					  .in_len = strlen(json),
					  .timeout_ns = (int64_t)ch->timeout_s * 1000000000,
					  .capture_max = CHAN_CAPTURE_MAX },
		     &run);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		/* cannot start it: the operator has to fix the command, then a retry works */
		chan_detail_errno(res, ch->argv[0], -r);
		r = 0;
		goto out;
	}
	chan_run_first_line(&run, line, sizeof(line));
	if (run.timed_out) {
		chan_detail(res, "%s: timed out after %u s", ch->argv[0], ch->timeout_s);
	} else if (WIFEXITED(run.wait_status)) {
		int code = WEXITSTATUS(run.wait_status);

		res->delivered = code == 0;
		res->permanent = code != 0 && code != EX_TEMPFAIL;
		chan_detail(res, "%s: exit %d%s%s", ch->argv[0], code, line[0] ? ": " : "", line);
	} else if (WIFSIGNALED(run.wait_status)) {
		chan_detail(res, "%s: killed by signal %d%s%s", ch->argv[0],
			    WTERMSIG(run.wait_status), line[0] ? ": " : "", line);
	} else {
		chan_detail(res, "%s: ended with status %#x", ch->argv[0],
			    (unsigned)run.wait_status);
	}
out:
	proc_result_release(&run);
	return r;
}
