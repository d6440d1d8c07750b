/* Under grate_testgrate --mode euid (geteuid answers the calling cage's id): the handler is
 * inherited by fork and kept across exec; deregistration (handler cage 500) falls back to the
 * microvisor; copy_handler_table_to_cage restores it; registering for a cage that is not yourself
 * or a descendant, or with a handler cage that is not an ancestor, is refused. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s line %d: %s (errno %d)\n", stage, __LINE__, #cond, errno);             \
            fflush(stdout);                                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const char *stage = "main";

static int wait_ok(pid_t pid)
{
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "exec") == 0) {
        stage = "exec";
        CHECK((int)geteuid() == getpid());
        printf("after exec: interposed\n");
        return 0;
    }
    CHECK((int)geteuid() == getpid());
    printf("main: interposed\n");

    pid_t pid = fork();
    if (pid == 0) {
        stage = "fork child";
        CHECK((int)geteuid() == getpid());
        printf("fork child: interposed\n");
        fflush(stdout);
        char *args[] = {argv[0], "exec", NULL};
        execv(argv[0], args);
        _exit(3);
    }
    CHECK(wait_ok(pid));

    pid = fork();
    if (pid == 0) {
        stage = "table child";
        CHECK(register_handler(getpid(), 107, 500, 0) == 0); /* deregister: back to the microvisor */
        CHECK(geteuid() == 0);
        CHECK(getppid() != 0 && (int)geteuid() != getppid());
        CHECK(copy_handler_table_to_cage(getppid(), getpid()) == 0); /* the parent's table */
        CHECK((int)geteuid() == getpid());
        /* authority: not for the parent (not a descendant), nor with a handler cage below us */
        CHECK(register_handler(getppid(), 107, 500, 0) == -1 && errno == EPERM);
        CHECK(copy_handler_table_to_cage(getpid(), getppid()) == -1 && errno == EPERM);
        pid_t g = fork();
        if (g == 0) {
            pause();
            _exit(0);
        }
        CHECK(register_handler(getpid(), 107, (uint64_t)g, 1) == -1 && errno == EPERM);
        kill(g, 9);
        waitpid(g, NULL, 0);
        printf("table child: deregister, copy table, authority ok\n");
        fflush(stdout);
        _exit(0);
    }
    CHECK(wait_ok(pid));
    CHECK((int)geteuid() == getpid()); /* the child's changes were its own */
    printf("main: still interposed\n");
    return 0;
}
