#define SYSCALL_NO_TLS 1
#include <elf.h>
#include <limits.h>
#include <string.h>
#include <stddef.h>
#include "pthread_impl.h"
#include "libc.h"
#include "atomic.h"
#include "syscall.h"

/* wasm32 replacement for src/env/__init_tls.c.
 *
 * A wasm module has no ELF program headers. `__thread` variables live in the
 * module's TLS block, addressed by the per-instance __tls_base global: the
 * module's start function sets up the main thread's block, and a new
 * thread's block is placed by __copy_tls just below its struct pthread, then
 * initialised by __lind_thread_start (src/thread/wasm32/clone.c). The main
 * thread's struct pthread lives in static storage. */

volatile int __thread_list_lock;

int __init_tp(void *p)
{
	pthread_t td = p;
	td->self = td;
	int r = __set_thread_area(TP_ADJ(p));
	if (r < 0) return -1;
	if (!r) libc.can_do_threads = 1;
	td->detach_state = DT_JOINABLE;
	td->tid = __syscall(SYS_set_tid_address, &__thread_list_lock);
	td->locale = &libc.global_locale;
	td->robust_list.head = &td->robust_list.head;
	td->sysinfo = __sysinfo;
	td->next = td->prev = td;
	return 0;
}

static struct builtin_tls {
	char c;
	struct pthread pt;
	void *space[16];
} builtin_tls[1];
#define MIN_TLS_ALIGN offsetof(struct builtin_tls, pt)

/* The wasm TLS block of a thread, right below its struct pthread. */
hidden void *__lind_tls_block(struct pthread *td)
{
	size_t size = __builtin_wasm_tls_size(), align = __builtin_wasm_tls_align();
	if (align < sizeof(void *)) align = sizeof(void *);
	return (void *)(((uintptr_t)td - size) & -align);
}

void *__copy_tls(unsigned char *mem)
{
	pthread_t td;
	uintptr_t *dtv;

	/* No TLS modules: the block is [dtv][...padding...][struct pthread]. */
	dtv = (uintptr_t *)mem;
	mem += libc.tls_size - sizeof(struct pthread);
	mem -= (uintptr_t)mem & (libc.tls_align-1);
	td = (pthread_t)mem;
	dtv[0] = libc.tls_cnt;
	td->dtv = dtv;
	return td;
}

static void static_init_tls(size_t *aux)
{
	libc.tls_cnt = 0;
	libc.tls_head = 0;
	libc.tls_align = MIN_TLS_ALIGN;
	libc.tls_size = 2*sizeof(void *) + sizeof(struct pthread)
		+ MIN_TLS_ALIGN + __builtin_wasm_tls_size() + __builtin_wasm_tls_align()
		+ sizeof(void *) + MIN_TLS_ALIGN-1 & -MIN_TLS_ALIGN;

	/* Failure to initialize thread pointer is always fatal. */
	/* the main thread's wasm TLS block is the module's own static one */
	if (__init_tp(&builtin_tls->pt) < 0)
		a_crash();
	builtin_tls->pt.dtv = (uintptr_t *)builtin_tls->space;
}

weak_alias(static_init_tls, __init_tls);
