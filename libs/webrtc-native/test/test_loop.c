#include <sys/epoll.h>
#include <unistd.h>
#include <stdlib.h>

#include "loop.h"
#include "test.h"

struct rec_timer {
	struct loop_timer t;
	int id;
	int *order;
	int *n;
};

static void rec_cb(struct loop_timer *t)
{
	struct rec_timer *r = container_of(t, struct rec_timer, t);
	r->order[(*r->n)++] = r->id;
}

TEST(timers_fire_in_due_order)
{
	struct loop *l = loop_new();
	int order[8], n = 0;
	struct rec_timer r[5];
	const uint64_t delays[5] = { 30, 10, 20, 0, 25 };

	for (int i = 0; i < 5; i++) {
		r[i] = (struct rec_timer){ .t.cb = rec_cb, .id = i, .order = order, .n = &n };
		CHECK_EQ_INT(loop_timer_set(l, &r[i].t, delays[i]), 0);
	}
	loop_timer_cancel(l, &r[4].t);
	CHECK(!loop_timer_pending(&r[4].t));
	while (n < 4)
		loop_run_once(l, 100);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(order[0], 3);
	CHECK_EQ_INT(order[1], 1);
	CHECK_EQ_INT(order[2], 2);
	CHECK_EQ_INT(order[3], 0);
	loop_free(l);
}

TEST(timer_rearm_moves_it)
{
	struct loop *l = loop_new();
	int order[4], n = 0;
	struct rec_timer a = { .t.cb = rec_cb, .id = 1, .order = order, .n = &n };
	struct rec_timer b = { .t.cb = rec_cb, .id = 2, .order = order, .n = &n };

	loop_timer_set(l, &a.t, 5);
	loop_timer_set(l, &b.t, 15);
	loop_timer_set(l, &a.t, 30); /* re-arm later than b */
	while (n < 2)
		loop_run_once(l, 100);
	CHECK_EQ_INT(order[0], 2);
	CHECK_EQ_INT(order[1], 1);
	loop_free(l);
}

struct pipe_end {
	struct loop_fd lfd;
	struct loop *l;
	struct pipe_end *victim; /* removed by this one's callback */
	int hits;
};

static void pipe_cb(struct loop_fd *lfd, uint32_t events)
{
	struct pipe_end *p = container_of(lfd, struct pipe_end, lfd);
	char buf[16];

	p->hits++;
	if (read(lfd->fd, buf, sizeof(buf)) < 0)
		return;
	if (p->victim) {
		loop_fd_del(p->l, &p->victim->lfd);
		p->victim = NULL;
	}
}

TEST(fd_removed_during_batch_is_not_dispatched)
{
	struct loop *l = loop_new();
	int a[2], b[2];
	struct pipe_end *pa = calloc(1, sizeof(*pa)), *pb = calloc(1, sizeof(*pb));

	CHECK(pipe(a) == 0 && pipe(b) == 0);
	*pa = (struct pipe_end){ .lfd = { .fd = a[0], .cb = pipe_cb }, .l = l, .victim = pb };
	*pb = (struct pipe_end){ .lfd = { .fd = b[0], .cb = pipe_cb }, .l = l, .victim = pa };
	loop_fd_add(l, &pa->lfd, EPOLLIN);
	loop_fd_add(l, &pb->lfd, EPOLLIN);
	CHECK(write(a[1], "x", 1) == 1 && write(b[1], "y", 1) == 1);
	loop_run_once(l, 100);
	/* whichever ran first removed the other before it was dispatched */
	CHECK_EQ_INT(pa->hits + pb->hits, 1);
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
	free(pa), free(pb);
	loop_free(l);
}

int main(void)
{
	RUN(timers_fire_in_due_order);
	RUN(timer_rearm_moves_it);
	RUN(fd_removed_during_batch_is_not_dispatched);
	return test_summary();
}
