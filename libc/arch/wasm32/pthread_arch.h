/* The thread pointer. wasm has no thread register: it is a thread-local variable, which wasm-ld
 * places in the TLS block of each thread's instance (addressed by that instance's __tls_base
 * global). The main thread's block is set up by the module's start function; a new thread's by
 * __lind_thread_start (src/thread/wasm32/clone.c). */
extern __thread uintptr_t __lind_thread_pointer;

static inline uintptr_t __get_tp()
{
	return __lind_thread_pointer;
}

/* Only used by pthread_cancel's async cancellation handler; the wasm32
 * ucontext is the x32 one and carries no real program counter. */
#define MC_PC gregs[REG_RIP]
