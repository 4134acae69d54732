/*
 * qw-upload: one line on what this program does.
 *
 * The skeleton every qw program starts from (as util-linux's
 * Documentation/boilerplate.c): options with getopt_long, a usage() that
 * matches man/qw-upload.1 SYNOPSIS and completions/, then one call into libqw
 * and one exit path that checks stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "prog.h"

static const char *prog = "qw-upload";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"One line on what it does.\n"
		"\n"
		"Options:\n"
		"  -h, --help         show this help and exit\n"
		"  -V, --version      show the version and exit\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct qw_err err = QW_ERR_INIT;
	int code = 0;
	int c;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return prog_finish(prog, 0);
		case 'V':
			prog_version(prog);
			return prog_finish(prog, 0);
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}

	err_set(&err, EX_UNAVAILABLE, "not implemented yet");
	code = err.code;
	if (code)
		err_print(prog, &err);
	return prog_finish(prog, code);
}
