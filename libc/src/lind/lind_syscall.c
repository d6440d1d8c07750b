/* The 3i grate API: thin wrappers over the lind.syscall gateway. */
#include <errno.h>
#include <stdint.h>
#include <lind_syscall.h>

/* A grate's handlers run in worker instances the host creates over the grate's memory. Each one
 * gets its own TLS block (set up here) and uses the main thread's struct pthread. */
void __wasm_init_tls(void *);
extern __thread uintptr_t __lind_thread_pointer;
extern uintptr_t __lind_main_tp;

__attribute__((__export_name__("__lind_worker_init")))
void __lind_worker_init(void *tls_block)
{
	__wasm_init_tls(tls_block);
	__lind_thread_pointer = __lind_main_tp;
}

static int ret_int(long long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
}

int register_handler(uint64_t targetcage, uint64_t callnum, uint64_t grateid, uint64_t fnptr)
{
	/* packed as the reference packs it (a grate interposing 1001 reads it this way) */
	return ret_int(__lind_syscall(LIND_REGISTER_HANDLER, 0, 0,
		targetcage, callnum, 0, grateid, fnptr, 0, 0, 0, 0, 0, 0, 0));
}

int copy_data_between_cages(uint64_t thiscage, uint64_t targetcage,
	uint64_t srcaddr, uint64_t srccage,
	uint64_t destaddr, uint64_t destcage,
	uint64_t len, uint64_t copytype)
{
	/* 8 values in the 6 (value, cage) pairs: the cage words carry the
	 * second value of each pair (docs/abi.md). */
	return ret_int(__lind_syscall(LIND_COPY_DATA_BETWEEN_CAGES, 0, 0,
		thiscage, targetcage, srcaddr, srccage, destaddr, destcage,
		len, copytype, 0, 0, 0, 0));
}

int copy_handler_table_to_cage(uint64_t srccage, uint64_t targetcage)
{
	return ret_int(__lind_syscall(LIND_COPY_HANDLER_TABLE_TO_CAGE, 0, 0,
		srccage, 0, targetcage, 0, 0, 0, 0, 0, 0, 0, 0, 0));
}

int make_threei_call(unsigned int callnum, uint64_t callname,
	uint64_t self_cageid, uint64_t target_cageid,
	uint64_t arg1, uint64_t arg1cageid,
	uint64_t arg2, uint64_t arg2cageid,
	uint64_t arg3, uint64_t arg3cageid,
	uint64_t arg4, uint64_t arg4cageid,
	uint64_t arg5, uint64_t arg5cageid,
	uint64_t arg6, uint64_t arg6cageid,
	int translate_errno)
{
	(void)callname;
	long long r = __lind_syscall(callnum, self_cageid, target_cageid,
		arg1, arg1cageid, arg2, arg2cageid, arg3, arg3cageid,
		arg4, arg4cageid, arg5, arg5cageid, arg6, arg6cageid);
	if (translate_errno && r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
}
