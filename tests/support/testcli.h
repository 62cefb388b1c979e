/*
 * testcli: runs a command line (fanout-cli, aggregator --check-config) to its
 * end and captures what it printed, for integration tests of command-line
 * behaviour: exit codes, stdout and stderr.
 */
#ifndef TESTCLI_H
#define TESTCLI_H

/*
 * Runs cmd with /bin/sh; *out gets its stdout and, when err is NULL, its
 * stderr too (both malloc'd, NUL-terminated); *err, when not NULL, gets its
 * stderr alone. Returns the exit status, or 128 + signal number.
 */
int testcli_run(const char *cmd, char **out, char **err);

#endif
