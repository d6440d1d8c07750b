/* kern/grate.h: a grate as the 3i tables see it: a table entry, the pool its cages' entries point
 * to (the worker instances that run its handlers are threei/grate.c's), and its end.
 * Calls: base/, kern/.        Called by: kern/, sys/sys_threei, rt/runner, threei/. */
#ifndef LIND_KERN_GRATE_H
#define LIND_KERN_GRATE_H

#include <pthread.h>
#include <stdint.h>

#define GRATE_MEMORY_FLAG (1ull << 63) /* or'ed into an argument's cage id: the grate's own memory */

struct lind_cage;
struct grate_worker; /* threei/grate.c */

/* One entry of a cage's 3i table: pool NULL means the microvisor answers. */
struct threei_entry {
    struct grate_pool *pool;
    uint64_t fnptr;
};

/* A grate's pool of worker instances; never freed, marked dead when the grate ends. */
struct grate_pool {
    pthread_mutex_t lock;
    pthread_cond_t idle_cond;
    struct lind_cage *grate;
    int grate_id;
    int dead;                   /* atomic */
    int inflight;               /* calls in progress (atomic) */
    struct grate_worker *workers;
};

struct grate_pool *grate_pool_of(struct lind_cage *grate); /* made on first use; NULL without memory */
/* The grate is ending: its entries disappear from every table (calls fall back to the microvisor)
 * and calls in flight finish before its memory goes; threei_free_workers frees the workers. */
void grate_ending(struct lind_cage *grate);

/* One routed entry of a cage's 3i table, for the embedder (lind_cage_table). */
struct lind_route {
    uint32_t nr;      /* the call number */
    int32_t grate;    /* the pid of the grate that answers it */
    uint64_t handler; /* the handler: a function-table index in the grate */
};
int lind_cage_table(int pid, struct lind_route *out, int cap);

#endif
