/* What the example grates share: the handler signature, the dispatcher 3i calls, forwarding a
 * call to the layer below, and main's fork / register / exec / wait. (See grates/README.md.) */
#ifndef LIND_GRATE_H
#define LIND_GRATE_H

#include <errno.h>
#include <lind_syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every handler has exactly this signature: the dispatcher below calls it indirectly, and wasm
 * traps an indirect call whose signature does not match. */
#define HANDLER_ARGS                                                                               \
    uint64_t cageid, uint64_t a1, uint64_t a1c, uint64_t a2, uint64_t a2c, uint64_t a3, uint64_t a3c, \
        uint64_t a4, uint64_t a4c, uint64_t a5, uint64_t a5c, uint64_t a6, uint64_t a6c
#define HANDLER(name) static int name(HANDLER_ARGS)
typedef int (*handler_t)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                         uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

/* This grate's cage id (set by grate_run before the program starts). */
static uint64_t grateid;

/* The entry point 3i calls for every interposed call: fn is the handler's function-table index. */
int pass_fptr_to_wt(uint64_t fn, uint64_t cageid, uint64_t a1, uint64_t a1c, uint64_t a2, uint64_t a2c,
                    uint64_t a3, uint64_t a3c, uint64_t a4, uint64_t a4c, uint64_t a5, uint64_t a5c, uint64_t a6,
                    uint64_t a6c)
{
    return ((handler_t)(uintptr_t)fn)(cageid, a1, a1c, a2, a2c, a3, a3c, a4, a4c, a5, a5c, a6, a6c);
}

/* Forward the call unchanged to the layer below, acting on the calling cage (inside a handler). */
#define FORWARD(nr)                                                                                \
    make_threei_call((nr), 0, grateid, a1c, a1, a1c, a2, a2c, a3, a3c, a4, a4c, a5, a5c, a6, a6c, 0)

/* Forks; the child registers the grate's handlers in its own table (register_all(its pid), which
 * reports its own errors and returns < 0 on failure), then becomes the program prog[0] with argv
 * prog: the table survives exec and is copied into every cage the program forks. The grate waits
 * and returns the program's status as a shell would. */
static int grate_run(const char *name, char **prog, int (*register_all)(uint64_t me))
{
    grateid = (uint64_t)getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", name, strerror(errno));
        return 1;
    }
    if (pid == 0) {
        if (register_all((uint64_t)getpid()) < 0)
            _exit(126);
        execv(prog[0], prog);
        fprintf(stderr, "%s: exec %s: %s\n", name, prog[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "%s: waitpid: %s\n", name, strerror(errno));
            return 1;
        }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
