/* loop: the single-threaded epoll event loop of pear-fogd.
 *
 * File descriptors and timers are registered with small structs the caller embeds in
 * its own objects (libubox uloop style); callbacks get the struct back and use
 * container_of to reach their owner.  Time is CLOCK_MONOTONIC in milliseconds, read
 * once per iteration (loop_now_ms). */
#ifndef PEARFOG_LOOP_H
#define PEARFOG_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct loop;

struct loop_fd {
	int fd;
	uint32_t events; /* EPOLLIN | EPOLLOUT ... as registered */
	void (*cb)(struct loop_fd *lfd, uint32_t events);
	bool registered;
};

struct loop_timer {
	void (*cb)(struct loop_timer *t);
	uint64_t due_ms;
	size_t heap_index; /* 0 = not pending; otherwise index + 1 in the heap */
};

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Register, change or remove interest in fd events.  Return 0 or -errno. */
int loop_fd_add(struct loop *l, struct loop_fd *lfd, uint32_t events);
int loop_fd_mod(struct loop *l, struct loop_fd *lfd, uint32_t events);
void loop_fd_del(struct loop *l, struct loop_fd *lfd);

/* Arm (or re-arm) a timer to fire once after ms milliseconds. Returns 0 or -ENOMEM. */
int loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t ms);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
bool loop_timer_pending(const struct loop_timer *t);

/* Run until loop_stop(). Returns 0, or -errno if epoll itself failed. */
int loop_run(struct loop *l);
/* Run one iteration, waiting at most max_wait_ms (-1: until an event or timer). */
int loop_run_once(struct loop *l, int max_wait_ms);
void loop_stop(struct loop *l);

/* Monotonic milliseconds as of the start of the current iteration. */
uint64_t loop_now_ms(const struct loop *l);
/* Reads the clock afresh (and updates the cached value). */
uint64_t loop_update_time(struct loop *l);

#endif
