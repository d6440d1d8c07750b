/* Another tenant's cage, as seen from this one (argv[1]: its pid): every way of reaching it by pid
 * or process group is tried; each line prints what the call gave (0 or the errno's name). In a pid
 * namespace of its own, every one is ESRCH. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *what, long r)
{
    printf("%s: %s\n", what, r < 0 ? (errno == ESRCH ? "ESRCH" : errno == EPERM ? "EPERM" : strerror(errno)) : "0");
}

int main(int argc, char **argv)
{
    pid_t v = (pid_t)atoi(argv[1]);
    cpu_set_t set;
    show("kill 0", kill(v, 0));
    show("getpgid", getpgid(v));
    show("getsid", getsid(v));
    show("getpriority", (errno = 0, getpriority(PRIO_PROCESS, v) == -1 && errno ? -1 : 0));
    show("setpriority", setpriority(PRIO_PROCESS, v, 10));
    show("sched_getaffinity", sched_getaffinity(v, sizeof set, &set));
    show("sigqueue", sigqueue(v, SIGTERM, (union sigval){0}));
    show("tgkill", syscall(SYS_tgkill, v, v, SIGKILL));
    show("kill group", kill(-v, SIGKILL));
    show("kill", kill(v, SIGKILL));
    show("setpgid", setpgid(0, v));
    return 0;
}
