/* kern/jmpbuf.h: the saved stacks of a thread's jmp_bufs (setjmp/longjmp with Asyncify).
 * Calls: base/, kern/.        Called by: kern/, sys/sys_setjmp, rt/runloop. */
#ifndef LIND_KERN_JMPBUF_H
#define LIND_KERN_JMPBUF_H

#include <stdint.h>

struct lind_thread;
struct jmp_record;

struct jmp_record *jmp_records_find(struct lind_thread *th, uint32_t env);
void jmp_records_free(struct lind_thread *th);
int jmp_records_clone(struct lind_thread *to, const struct lind_thread *from);
/* the run loop's half: after the unwind of a setjmp, and of a longjmp */
int lind_setjmp_save(struct lind_thread *th, uint32_t sp);
int64_t lind_longjmp_restore(struct lind_thread *th);

#endif
