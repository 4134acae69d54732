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
