/* wasm32 (lind) system calls.
 *
 * Every system call goes through the host import `lind.syscall`, or its
 * twin `lind.syscall_unwind` for the few that may unwind (below; docs/abi.md).  The calling convention is musl's x32 one: ILP32 values
 * on top of the Linux x86-64 system-call numbers and structure layouts.
 * 32-bit arguments (int, long, pointers, size_t) are zero-extended to 64
 * bits, 64-bit arguments (off_t ...) are passed whole in one argument. */

#define __SYSCALL_LL_E(x) (x)
#define __SYSCALL_LL_O(x) (x)

/* Zero-extend anything narrower than 64 bits: a negative int becomes
 * 0x00000000ffffffff (the host reads int arguments as the low 32 bits,
 * signed).  `1?(X):(X)` decays arrays (flexible ones too) to pointers. */
#define __scc(X) (sizeof(1?(X):(X)) < 8 ? (syscall_arg_t)(unsigned long)(X) : (syscall_arg_t)(X))
typedef long long syscall_arg_t;

#include <lind_syscall.h> /* __lind_syscall, the lind.syscall import */

/* The same gateway under a second name, for the calls that may unwind and rewind the wasm stack
 * (fork, vfork, setjmp, longjmp: docs/abi.md). Asyncify instruments only the functions that can
 * reach this import, so the plain one costs a call and nothing else. */
long long __lind_syscall_unwind(__LIND_GATEWAY_PARAMS)
	__attribute__((__import_module__("lind"), __import_name__("syscall_unwind")));

/* fork (57), vfork (58), setjmp (1020) and longjmp (1021). With a constant number (nearly every
 * call site) the choice is made at compile time. (libc's clone makes threads and posix_spawn's
 * children, neither of which unwinds; syscall(2) also sends clone the unwinding way: it may be a
 * fork.) */
#define __LIND_MAY_UNWIND(n) ((n) == 57 || (n) == 58 || (n) == 1020 || (n) == 1021)

#define __LIND_ARGS(n,a,b,c,d,e,f) (unsigned)(n), 0, 0, \
	(unsigned long long)(a), 0, (unsigned long long)(b), 0, (unsigned long long)(c), 0, \
	(unsigned long long)(d), 0, (unsigned long long)(e), 0, (unsigned long long)(f), 0
#define __LIND_SC_PLAIN(n,a,b,c,d,e,f) (long)__lind_syscall(__LIND_ARGS(n,a,b,c,d,e,f))
#define __LIND_SC(n,a,b,c,d,e,f) (__LIND_MAY_UNWIND(n) \
	? (long)__lind_syscall_unwind(__LIND_ARGS(n,a,b,c,d,e,f)) : __LIND_SC_PLAIN(n,a,b,c,d,e,f))

static __inline long __syscall0(syscall_arg_t n)
{
	return __LIND_SC(n, 0, 0, 0, 0, 0, 0);
}

static __inline long __syscall1(syscall_arg_t n, syscall_arg_t a1)
{
	return __LIND_SC(n, a1, 0, 0, 0, 0, 0);
}

static __inline long __syscall2(syscall_arg_t n, syscall_arg_t a1, syscall_arg_t a2)
{
	return __LIND_SC(n, a1, a2, 0, 0, 0, 0);
}

static __inline long __syscall3(syscall_arg_t n, syscall_arg_t a1, syscall_arg_t a2, syscall_arg_t a3)
{
	return __LIND_SC(n, a1, a2, a3, 0, 0, 0);
}

static __inline long __syscall4(syscall_arg_t n, syscall_arg_t a1, syscall_arg_t a2, syscall_arg_t a3,
	syscall_arg_t a4)
{
	return __LIND_SC(n, a1, a2, a3, a4, 0, 0);
}

static __inline long __syscall5(syscall_arg_t n, syscall_arg_t a1, syscall_arg_t a2, syscall_arg_t a3,
	syscall_arg_t a4, syscall_arg_t a5)
{
	return __LIND_SC(n, a1, a2, a3, a4, a5, 0);
}

static __inline long __syscall6(syscall_arg_t n, syscall_arg_t a1, syscall_arg_t a2, syscall_arg_t a3,
	syscall_arg_t a4, syscall_arg_t a5, syscall_arg_t a6)
{
	return __LIND_SC(n, a1, a2, a3, a4, a5, a6);
}

/* As on x32: the 64-bit time syscalls are the plain x86-64 ones. */
#undef SYS_futimesat

#define SYS_clock_gettime64 SYS_clock_gettime
#define SYS_clock_settime64 SYS_clock_settime
#define SYS_clock_adjtime64 SYS_clock_adjtime
#define SYS_clock_nanosleep_time64 SYS_clock_nanosleep
#define SYS_timer_gettime64 SYS_timer_gettime
#define SYS_timer_settime64 SYS_timer_settime
#define SYS_timerfd_gettime64 SYS_timerfd_gettime
#define SYS_timerfd_settime64 SYS_timerfd_settime
#define SYS_utimensat_time64 SYS_utimensat
#define SYS_pselect6_time64 SYS_pselect6
#define SYS_ppoll_time64 SYS_ppoll
#define SYS_recvmmsg_time64 SYS_recvmmsg
#define SYS_mq_timedsend_time64 SYS_mq_timedsend
#define SYS_mq_timedreceive_time64 SYS_mq_timedreceive
#define SYS_semtimedop_time64 SYS_semtimedop
#define SYS_rt_sigtimedwait_time64 SYS_rt_sigtimedwait
#define SYS_futex_time64 SYS_futex
#define SYS_sched_rr_get_interval_time64 SYS_sched_rr_get_interval
#define SYS_getrusage_time64 SYS_getrusage
#define SYS_wait4_time64 SYS_wait4

#define IPC_64 0
