/* setjmp/longjmp with Asyncify: the saved stacks of a thread's jmp_bufs.
 *
 * setjmp unwinds the calling thread's wasm stack into its asyncify buffer; the run loop
 * (runloop.c) keeps a copy of the unwound data for that jmp_buf (lind_setjmp_save) and rewinds:
 * setjmp returns 0. longjmp unwinds (the data is thrown away), the run loop puts the saved data
 * back (lind_longjmp_restore) with the stack pointer of the setjmp and rewinds: setjmp returns
 * again, with val. Where the stack cannot be unwound (a longjmp through the plain gateway, or out
 * of a signal handler, which is ended with a trap first) the wasm stack is abandoned instead (a
 * trap; slower) and the run loop rewinds all the same: when the interrupted system call returns,
 * or at once when the handler interrupted computation (rt/epoch.c). The calls are
 * sys/sys_setjmp.c; this file keeps the records and is the run loop's half (rt/runloop.c).
 * Calls:  kern/ (cage, thread).
 * Called by: kern/ (cage, thread), sys/ (sys_setjmp), rt/ (runloop). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kern/cage.h"
#include "kern/jmpbuf.h"
#include "kern/thread.h"

#define MAX_JMPS 256

struct jmp_record {
    uint32_t env;
    uint32_t sp;
    uint32_t len;
    uint8_t *data;
    struct jmp_record *next;
};

/* The record of jmp_buf env of thread th, or NULL (setjmp never filled it). */
struct jmp_record *jmp_records_find(struct lind_thread *th, uint32_t env)
{
    for (struct jmp_record *r = th->jmps; r; r = r->next)
        if (r->env == env)
            return r;
    return NULL;
}

void jmp_records_free(struct lind_thread *th)
{
    while (th->jmps) {
        struct jmp_record *r = th->jmps;
        th->jmps = r->next;
        free(r->data);
        free(r);
    }
    th->njmps = 0;
}

int jmp_records_clone(struct lind_thread *to, const struct lind_thread *from)
{
    struct jmp_record **tail = &to->jmps;
    to->jmps = NULL;
    to->njmps = 0;
    for (const struct jmp_record *r = from->jmps; r; r = r->next) {
        struct jmp_record *n = malloc(sizeof *n);
        if (!n)
            return -ENOMEM;
        *n = *r;
        n->next = NULL;
        n->data = malloc(r->len ? r->len : 1);
        if (!n->data) {
            free(n);
            return -ENOMEM;
        }
        memcpy(n->data, r->data, r->len);
        *tail = n;
        tail = &n->next;
        to->njmps++;
    }
    return 0;
}

/* ---- the run loop's half ---- */

/* After the unwind of a setjmp: keep the unwound data for the jmp_buf, then rewind (returns 0). */
int lind_setjmp_save(struct lind_thread *th, uint32_t sp)
{
    struct lind_cage *cage = th->cage;
    uint32_t *d = (uint32_t *)(cage->base + th->async_buf);
    uint32_t len = d[0] - (th->async_buf + 8);
    struct jmp_record *r = jmp_records_find(th, th->jmp_env);
    if (!r) {
        if (th->njmps >= MAX_JMPS) { /* forget the oldest (the list's tail) */
            struct jmp_record **pp = &th->jmps;
            while ((*pp)->next)
                pp = &(*pp)->next;
            free((*pp)->data);
            free(*pp);
            *pp = NULL;
            th->njmps--;
        }
        r = calloc(1, sizeof *r);
        if (!r)
            return -ENOMEM;
        r->env = th->jmp_env;
        r->next = th->jmps;
        th->jmps = r;
        th->njmps++;
    }
    uint8_t *data = realloc(r->data, len ? len : 1);
    if (!data)
        return -ENOMEM;
    memcpy(data, cage->base + th->async_buf + 8, len);
    r->data = data;
    r->len = len;
    r->sp = sp;
    th->pending = PENDING_NONE;
    th->rewinding = 1;
    th->fork_result = 0;
    return 0;
}

/* After the unwind of a longjmp: puts the saved data back; returns the stack pointer to set before
 * rewinding (setjmp then returns the longjmp's value), or -1. */
int64_t lind_longjmp_restore(struct lind_thread *th)
{
    struct lind_cage *cage = th->cage;
    struct jmp_record *r = jmp_records_find(th, th->jmp_env);
    if (!r || r->len + 8 > th->async_len)
        return -1;
    uint32_t *d = (uint32_t *)(cage->base + th->async_buf);
    memcpy(cage->base + th->async_buf + 8, r->data, r->len);
    d[0] = th->async_buf + 8 + r->len;
    d[1] = th->async_buf + th->async_len;
    th->pending = PENDING_NONE;
    th->rewinding = 1;
    th->fork_result = th->jmp_val;
    return r->sp;
}
