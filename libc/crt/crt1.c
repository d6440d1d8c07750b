/* crt1.o for lind wasm32 programs: the module's `_start` export.
 *
 * argv, envp and the auxiliary vector come from the host through two lind
 * calls (docs/abi.md): 1010 lind_args_sizes tells how big the buffers must
 * be, 1011 lind_args_get fills them.  Both buffers live on _start's stack
 * frame, which stays live for the whole program (_start never returns:
 * exit() ends with SYS_exit_group). */

#include <stdint.h>

#include <lind_syscall.h> /* __lind_syscall, LIND_ARGS_SIZES, LIND_ARGS_GET */

/* musl's (hidden) start-up steps, which __libc_start_main makes */
void __init_libc(char **envp, char *pn);
void __libc_start_init(void);
_Noreturn void exit(int);

/* clang names `int main(void)` __main_void (plus a `main` wrapper) and
 * `int main(int, char **)` __main_argc_argv.  libc.a has a weak __main_void
 * that calls __main_argc_argv(__lind_argc, __lind_argv), and an
 * __main_argc_argv that calls a three-argument main(argc, argv, envp); the
 * archive only supplies the ones the program does not define. */
int __main_void(void);
void __wasm_call_ctors(void);

int __lind_argc;
char **__lind_argv;

static int start_main(int argc, char **argv, char **envp)
{
	(void)envp;
	__lind_argc = argc;
	__lind_argv = argv;
	/* C/C++ constructors (wasm-ld has no .init_array: it synthesizes this
	 * function).  Runs after libc is initialized, as on ELF. */
	__wasm_call_ctors();
	return __main_void();
}

#define CALL1(nr, a, b) __lind_syscall((nr), 0, 0, (uintptr_t)(a), 0, (uintptr_t)(b), 0, \
	0, 0, 0, 0, 0, 0, 0, 0)

__attribute__((__export_name__("_start")))
void _start(void)
{
	uint32_t sizes[4] = { 0, 0, 0, 0 };
	if (CALL1(LIND_ARGS_SIZES, sizes, 0) < 0) __builtin_trap();
	uint32_t argc = sizes[0], nstr = sizes[2], nvec = sizes[3];
	/* At least argv[0]==NULL, envp NULL and AT_NULL, even if the host sends nothing. */
	uint32_t vec[nvec + 4];
	char strings[nstr + 1];
	for (uint32_t i = 0; i < nvec + 4; i++) vec[i] = 0;
	if (CALL1(LIND_ARGS_GET, vec, strings) < 0) __builtin_trap();
	/* What musl's __libc_start_main does, with direct calls: taking the address of start_main
	 * would put it in the function table, and every indirect call of its very common signature
	 * would then count as one that may fork (lind_aot/compile/unwind_scope.py), instrumenting most
	 * of a program for nothing. */
	char **argv = (char **)vec, **envp = argv + argc + 1;
	__init_libc(envp, argv[0]);
	__libc_start_init();
	exit(start_main((int)argc, argv, envp));
}
