/* Credentials as Linux changes them, starting as root: setresuid/setresgid, setuid back through the
 * saved id, a full drop after which nothing comes back, setreuid's saved id, setgroups/getgroups
 * (and EPERM without root). Each case runs in a child, so each starts from root. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void ids(const char *when)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("%s: uid %u/%u/%u gid %u/%u/%u (getuid %u geteuid %u)\n", when, r, e, s, gr, ge, gs, getuid(), geteuid());
}

static const char *res(int r) { return r < 0 ? strerror(errno) : "ok"; }

static void in_child(void (*fn)(void))
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        fn();
        fflush(stdout);
        _exit(0);
    }
    waitpid(p, NULL, 0);
}

static void temporary_drop(void)
{
    printf("setresgid(100,100,100): %s\n", res(setresgid(100, 100, 100)));
    printf("setresuid(1000,1000,0): %s\n", res(setresuid(1000, 1000, 0)));
    ids("dropped, saved root");
    printf("setgid(0) unprivileged: %s\n", res(setgid(0)));
    printf("setuid(0) through the saved id: %s\n", res(setuid(0)));
    ids("back");
}

static void full_drop(void)
{
    printf("setuid(1000) as root: %s\n", res(setuid(1000)));
    ids("after setuid");
    printf("setuid(0): %s\n", res(setuid(0)));
    printf("seteuid(0): %s\n", res(seteuid(0)));
    printf("setresuid(-1,1000,-1): %s\n", res(setresuid(-1, 1000, -1)));
    printf("setresuid(2000,-1,-1): %s\n", res(setresuid(2000, -1, -1)));
    printf("setgroups as non-root: %s\n", res(setgroups(0, NULL)));
}

static void reuid(void)
{
    printf("setreuid(-1,1000): %s\n", res(setreuid(-1, 1000)));
    ids("after setreuid(-1,1000)");
    printf("setreuid(1000,-1): %s\n", res(setreuid(1000, -1)));
    ids("after setreuid(1000,-1)");
    printf("seteuid(0): %s\n", res(seteuid(0)));
}

static void groups(void)
{
    gid_t set[3] = {7, 8, 9}, got[8];
    printf("setgroups(3): %s\n", res(setgroups(3, set)));
    int n = getgroups(0, NULL);
    printf("getgroups(0): %d\n", n);
    printf("getgroups(1) too small: %s\n", res(getgroups(1, got)));
    n = getgroups(8, got);
    printf("getgroups: %d:", n);
    for (int i = 0; i < n; i++)
        printf(" %u", got[i]);
    printf("\n");
    printf("setgroups(0): %s\n", res(setgroups(0, NULL)));
    printf("now %d\n", getgroups(0, NULL));
}

int main(void)
{
    if (geteuid() != 0) {
        printf("not root\n");
        return 0;
    }
    in_child(temporary_drop);
    in_child(full_drop);
    in_child(reuid);
    in_child(groups);
    return 0;
}
