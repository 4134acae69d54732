#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifecycle/merge_sibling.h"

pid_t merge_sibling_start(const char *path, char *const argv[], struct qw_err *err)
{
	pid_t pid = fork();

	if (pid < 0) {
		err_errno(err, EX_OSERR, "cannot start '%s'", path);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* the pipeline may be gone already: then stop at once */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
			_exit(EX_OSERR);
		execvp(path, argv);
		fprintf(stderr, "qw-pipeline: cannot run '%s': %m\n", path);
		_exit(127);
	}
	return pid;
}

void merge_sibling_stop(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

int merge_sibling_run(const char *path, char *const argv[], struct qw_err *err)
{
	pid_t pid = merge_sibling_start(path, argv, err);
	pid_t r;
	int st;

	if (pid < 0)
		return -1;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		err_errno(err, EX_OSERR, "cannot wait for '%s'", path);
		return -1;
	}
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static bool permanent(int status)
{
	return WIFEXITED(status) &&
	       (WEXITSTATUS(status) == EX_USAGE || WEXITSTATUS(status) == EX_DATAERR ||
		WEXITSTATUS(status) == EX_NOINPUT || WEXITSTATUS(status) == EX_SOFTWARE);
}

static void start(struct merge_sibling *m)
{
	struct qw_err err = QW_ERR_INIT;
	pid_t pid = merge_sibling_start(m->path, m->argv, &err);

	if (pid < 0) {
		err_print(m->prog, &err);
		m->pid = 0;
		merge_sibling_exited(m, -1, 0);
		return;
	}
	m->pid = pid;
	m->started_ms = clock_ms(&m->clock);
}

void merge_sibling_begin(struct merge_sibling *m)
{
	clock_init(&m->clock);
	m->pid = 0;
	m->fails = 0;
	m->restarts = 0;
	m->off = false;
	start(m);
}

void merge_sibling_exited(struct merge_sibling *m, pid_t pid, int status)
{
	int64_t now = clock_ms(&m->clock), delay = m->backoff_initial_ms;
	char how[64];

	if (pid != -1 && (m->pid <= 0 || pid != m->pid))
		return;
	m->pid = 0;
	if (pid == -1)
		snprintf(how, sizeof(how), "could not be started");
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
	/* a merge that ran a while before failing starts the count again */
	if (pid == -1 || now - m->started_ms >= m->backoff_max_ms)
		m->fails = 0;
	m->fails++;
	if ((pid != -1 && permanent(status)) || m->fails > m->max_restarts) {
		m->off = true;
		fprintf(stderr, "%s: qw-merge %s%s: merges are switched off for this run; "
			"indexing goes on\n", m->prog, how,
			pid != -1 && permanent(status) ? " (a restart cannot help)" : ", too often");
		return;
	}
	for (unsigned i = 1; i < m->fails && delay < m->backoff_max_ms; i++)
		delay *= 2;
	if (delay > m->backoff_max_ms)
		delay = m->backoff_max_ms;
	m->restart_at_ms = now + delay;
	fprintf(stderr, "%s: qw-merge %s: restarting it in %lld ms; indexing goes on\n", m->prog,
		how, (long long)delay);
}

void merge_sibling_tick(struct merge_sibling *m)
{
	if (m->off || m->pid > 0 || !m->path)
		return;
	if (clock_ms(&m->clock) < m->restart_at_ms)
		return;
	m->restarts++;
	start(m);
}

void merge_sibling_end(struct merge_sibling *m)
{
	m->off = true;
	merge_sibling_stop(m->pid);
	m->pid = 0;
}
