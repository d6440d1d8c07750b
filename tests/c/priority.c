/* nice values: getpriority/setpriority/nice, inherited by fork; without root a value can be raised
 * but not lowered (EACCES); ESRCH, EINVAL. The tests run as root. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *res(int r) { return r < 0 ? strerror(errno) : "ok"; }

int main(void)
{
    errno = 0;
    int p = getpriority(PRIO_PROCESS, 0);
    printf("start: %d, errno %d\n", p, errno);
    int r = nice(5);
    printf("nice(5): %d\n", r);
    printf("setpriority(PRIO_PROCESS, 0, 3): %s\n", res(setpriority(PRIO_PROCESS, 0, 3)));
    printf("now %d\n", getpriority(PRIO_PROCESS, 0));
    printf("100: %s\n", res(setpriority(PRIO_PROCESS, 0, 100)));
    printf("clamped to %d\n", getpriority(PRIO_PROCESS, 0));
    setpriority(PRIO_PROCESS, 0, 4);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        printf("child inherits: %d\n", getpriority(PRIO_PROCESS, 0));
        setuid(1000);
        printf("child, not root, lower to 2: %s\n", res(setpriority(PRIO_PROCESS, 0, 2)));
        printf("child, not root, raise to 8: %s\n", res(setpriority(PRIO_PROCESS, 0, 8)));
        printf("child now %d\n", getpriority(PRIO_PROCESS, 0));
        printf("child, not root, the parent: %s\n", res(setpriority(PRIO_PROCESS, getppid(), 10)));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("parent unchanged: %d\n", getpriority(PRIO_PROCESS, 0));
    errno = 0;
    r = getpriority(PRIO_PROCESS, 999999);
    printf("no such process: %d %s\n", r, strerror(errno));
    r = setpriority(12345, 0, 1);
    printf("bad which: %d %s\n", r, strerror(errno));
    return 0;
}
