/* The thread pointer.  wasm has no thread register: for now (single-threaded
 * cages) it is a plain C global holding the main thread's struct pthread,
 * set by __set_thread_area (src/thread/wasm32/__set_thread_area.c).
 *
 * THREADS HOOK: with shared memory a C global is shared by all threads, so
 * this must become per-instance state (a wasm global, e.g. an
 * `__lind_tp` global declared in a .s file or exported/set by the host when
 * it starts a thread instance). */
extern uintptr_t __lind_thread_pointer;

static inline uintptr_t __get_tp()
{
	return __lind_thread_pointer;
}

/* Only used by pthread_cancel's async cancellation handler; the wasm32
 * ucontext is the x32 one and carries no real program counter. */
#define MC_PC gregs[REG_RIP]
