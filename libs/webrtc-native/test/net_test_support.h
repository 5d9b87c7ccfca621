/* Helpers for the net client tests (tcp/tls/http/ws): a temp dir with a self-signed CA
 * certificate for "localhost" / 127.0.0.1, and servers run as child processes (openssl
 * s_server, node scripts) that print their port on stdout. */
#ifndef PEARFOG_NET_TEST_SUPPORT_H
#define PEARFOG_NET_TEST_SUPPORT_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"

struct net_test_dir {
	char path[64];
	char cert[96], key[96];
};

/* mkdtemp + a self-signed P-256 certificate (it is its own CA) for localhost. */
static inline bool net_test_dir_make(struct net_test_dir *d)
{
	char cmd[512];

	snprintf(d->path, sizeof(d->path), "/tmp/pearfog-nettest-XXXXXX");
	if (!mkdtemp(d->path))
		return false;
	snprintf(d->cert, sizeof(d->cert), "%s/cert.pem", d->path);
	snprintf(d->key, sizeof(d->key), "%s/key.pem", d->path);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout %s -out %s -subj /CN=localhost "
		 "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 2 >/dev/null 2>&1",
		 d->key, d->cert);
	return system(cmd) == 0;
}

static inline void net_test_dir_remove(struct net_test_dir *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->path);
	if (system(cmd) != 0)
		fprintf(stderr, "  could not remove %s\n", d->path);
}

struct net_test_proc {
	pid_t pid;
	int out;	/* read end of the child's stdout */
	char line[512]; /* the marker line */
};

/* Run argv with stdout on a pipe; read lines until one contains marker; the port is the
 * number after the last ':' on that line (or the whole line when it has no ':').
 * Returns the port or 0. */
static inline unsigned net_test_spawn(struct net_test_proc *p, char *const argv[],
				      const char *marker)
{
	int fds[2];
	char *line = p->line;
	size_t len = 0;

	if (pipe(fds) < 0)
		return 0;
	p->pid = fork();
	if (p->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	p->out = fds[0];
	for (;;) {
		char c;
		ssize_t r = read(p->out, &c, 1);
		if (r <= 0)
			return 0;
		if (c != '\n') {
			if (len < sizeof(p->line) - 1)
				line[len++] = c;
			continue;
		}
		line[len] = 0;
		len = 0;
		if (strstr(line, marker)) {
			char *colon = strrchr(line, ':');
			return (unsigned)strtoul(colon ? colon + 1 : line, NULL, 10);
		}
	}
}

static inline void net_test_kill(struct net_test_proc *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
		close(p->out);
		p->pid = 0;
	}
}

/* Path of the repo's node_modules/ws (tests run from libs/webrtc-native). */
static inline const char *net_test_ws_module(void)
{
	static char path[4096];

	if (!realpath("../../node_modules/ws", path))
		return NULL;
	return path;
}

static inline void net_test_run_until(struct loop *l, const bool *flag, int ms)
{
	uint64_t end = loop_update_time(l) + (uint64_t)ms;

	while (!*flag && loop_now_ms(l) < end)
		loop_run_once(l, 10);
}

#endif
