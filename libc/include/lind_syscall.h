#ifndef _LIND_SYSCALL_H
#define _LIND_SYSCALL_H

/* The lind system-call gateway and the 3i grate API (docs/abi.md).
 * Source-compatible with the Lind-Wasm reference lind_syscall.h. */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The gateway's parameters (the libc also imports it as lind.syscall_unwind). */
#define __LIND_GATEWAY_PARAMS unsigned int __nr, \
	unsigned long long __self_cage, unsigned long long __target_cage, \
	unsigned long long __a1, unsigned long long __a1_cage, \
	unsigned long long __a2, unsigned long long __a2_cage, \
	unsigned long long __a3, unsigned long long __a3_cage, \
	unsigned long long __a4, unsigned long long __a4_cage, \
	unsigned long long __a5, unsigned long long __a5_cage, \
	unsigned long long __a6, unsigned long long __a6_cage

/* The host import: nr is a Linux x86-64 system-call number or a lind call. */
long long __lind_syscall(__LIND_GATEWAY_PARAMS)
	__attribute__((__import_module__("lind"), __import_name__("syscall")));

#define LIND_REGISTER_HANDLER 1001
#define LIND_COPY_DATA_BETWEEN_CAGES 1002
#define LIND_COPY_HANDLER_TABLE_TO_CAGE 1003
#define LIND_ARGS_SIZES 1010
#define LIND_ARGS_GET 1011

/* Marks an argument as an address in the cage given by its *_cage word. */
#define GRATE_MEMORY_FLAG ((uint64_t)1 << 63)

int register_handler(uint64_t targetcage, uint64_t callnum, uint64_t grateid, uint64_t fnptr);

int copy_data_between_cages(uint64_t thiscage, uint64_t targetcage,
	uint64_t srcaddr, uint64_t srccage,
	uint64_t destaddr, uint64_t destcage,
	uint64_t len, uint64_t copytype);

int copy_handler_table_to_cage(uint64_t srccage, uint64_t targetcage);

/* Issue system call `callnum` through 3i on behalf of self_cageid, aimed at
 * target_cageid.  With translate_errno != 0 a negative result sets errno and
 * -1 is returned; otherwise the raw result (-errno on error) is returned. */
int make_threei_call(unsigned int callnum, uint64_t callname,
	uint64_t self_cageid, uint64_t target_cageid,
	uint64_t arg1, uint64_t arg1cageid,
	uint64_t arg2, uint64_t arg2cageid,
	uint64_t arg3, uint64_t arg3cageid,
	uint64_t arg4, uint64_t arg4cageid,
	uint64_t arg5, uint64_t arg5cageid,
	uint64_t arg6, uint64_t arg6cageid,
	int translate_errno);

#ifdef __cplusplus
}
#endif

#endif
