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
 * A wasm module has no ELF program headers and, without the threads
 * proposal, no thread-local storage segment (clang lowers `__thread`
 * variables to ordinary globals when memory is not shared), so the main
 * thread's TLS area is just its struct pthread, which lives in static
 * storage.
 *
 * THREADS HOOK: when threads arrive, __copy_tls must also copy the module's
 * TLS image (__tls_base/__tls_size/__wasm_init_tls) into each new thread's
 * block, and the thread pointer must become per-instance state (see
 * arch/wasm32/pthread_arch.h). */

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
		+ MIN_TLS_ALIGN + MIN_TLS_ALIGN-1 & -MIN_TLS_ALIGN;

	/* Failure to initialize thread pointer is always fatal. */
	if (libc.tls_size > sizeof builtin_tls || __init_tp(__copy_tls((void *)builtin_tls)) < 0)
		a_crash();
}

weak_alias(static_init_tls, __init_tls);
