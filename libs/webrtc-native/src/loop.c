#include "loop.h"
#include "monotime.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64

struct loop {
	int epfd;
	bool stop;
	uint64_t now_ms;
	struct loop_timer **heap; /* min-heap on due_ms */
	struct epoll_event *batch; /* events being dispatched; loop_fd_del clears its entries */
	int batch_len;
	size_t heap_len, heap_cap;
};

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->now_ms = monotime_ms();
	return l;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->heap_len; i++)
		l->heap[i]->heap_index = 0;
	free(l->heap);
	close(l->epfd);
	free(l);
}

int loop_fd_add(struct loop *l, struct loop_fd *lfd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = lfd };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, lfd->fd, &ev) < 0)
		return -errno;
	lfd->events = events;
	lfd->registered = true;
	return 0;
}

int loop_fd_mod(struct loop *l, struct loop_fd *lfd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = lfd };

	if (!lfd->registered)
		return loop_fd_add(l, lfd, events);
	if (lfd->events == events)
		return 0;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, lfd->fd, &ev) < 0)
		return -errno;
	lfd->events = events;
	return 0;
}

void loop_fd_del(struct loop *l, struct loop_fd *lfd)
{
	if (!lfd->registered)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, lfd->fd, NULL);
	lfd->registered = false;
	/* A callback earlier in this batch may remove (and free) an fd whose event is still
	 * queued: forget it so it is not dispatched. */
	for (int i = 0; i < l->batch_len; i++)
		if (l->batch[i].data.ptr == lfd)
			l->batch[i].data.ptr = NULL;
}

/* Binary min-heap keyed on due_ms; heap_index is position + 1 so 0 means "not queued". */
static void heap_place(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->heap_index = i + 1;
}

static void heap_up(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (l->heap[parent]->due_ms <= t->due_ms)
			break;
		heap_place(l, i, l->heap[parent]);
		i = parent;
	}
	heap_place(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct loop_timer *t = l->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= l->heap_len)
			break;
		if (child + 1 < l->heap_len && l->heap[child + 1]->due_ms < l->heap[child]->due_ms)
			child++;
		if (l->heap[child]->due_ms >= t->due_ms)
			break;
		heap_place(l, i, l->heap[child]);
		i = child;
	}
	heap_place(l, i, t);
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	size_t i;

	if (!t->heap_index)
		return;
	i = t->heap_index - 1;
	t->heap_index = 0;
	l->heap_len--;
	if (i == l->heap_len)
		return;
	l->heap[i] = l->heap[l->heap_len];
	l->heap[i]->heap_index = i + 1;
	heap_down(l, i);
	heap_up(l, l->heap[i]->heap_index - 1);
}

int loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t ms)
{
	loop_timer_cancel(l, t);
	if (l->heap_len == l->heap_cap) {
		size_t cap = l->heap_cap ? l->heap_cap * 2 : 16;
		struct loop_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		l->heap = h;
		l->heap_cap = cap;
	}
	t->due_ms = l->now_ms + ms;
	l->heap[l->heap_len] = t;
	t->heap_index = ++l->heap_len;
	heap_up(l, l->heap_len - 1);
	return 0;
}

bool loop_timer_pending(const struct loop_timer *t)
{
	return t->heap_index != 0;
}

uint64_t loop_now_ms(const struct loop *l)
{
	return l->now_ms;
}

uint64_t loop_update_time(struct loop *l)
{
	l->now_ms = monotime_ms();
	return l->now_ms;
}

static void run_due_timers(struct loop *l)
{
	while (l->heap_len && l->heap[0]->due_ms <= l->now_ms) {
		struct loop_timer *t = l->heap[0];
		loop_timer_cancel(l, t);
		t->cb(t);
	}
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
	struct epoll_event evs[LOOP_MAX_EVENTS];
	int wait = max_wait_ms, n;

	if (l->heap_len) {
		uint64_t due = l->heap[0]->due_ms;
		int until = due <= l->now_ms ? 0 : (int)(due - l->now_ms > 60000 ? 60000 : due - l->now_ms);
		if (wait < 0 || until < wait)
			wait = until;
	}
	n = epoll_wait(l->epfd, evs, LOOP_MAX_EVENTS, wait);
	if (n < 0 && errno != EINTR)
		return -errno;
	loop_update_time(l);
	l->batch = evs;
	l->batch_len = n;
	for (int i = 0; i < n; i++) {
		struct loop_fd *lfd = evs[i].data.ptr;
		if (lfd)
			lfd->cb(lfd, evs[i].events);
	}
	l->batch = NULL;
	l->batch_len = 0;
	run_due_timers(l);
	return 0;
}

int loop_run(struct loop *l)
{
	int rc = 0;

	l->stop = false;
	while (!l->stop && rc == 0)
		rc = loop_run_once(l, -1);
	return rc;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}
