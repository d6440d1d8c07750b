/* exec: argv/env passing, errors, #! scripts, close-on-exec, fexecve, signal state across exec.
 * usage: proc_exec MODE CHILD [INTERP]
 *   CHILD is the path of the proc_child program to exec (it differs between native and cage runs
 *   only in how the test names it); INTERP is the path a #! line names for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void on_usr2(int sig) { (void)sig; }

/* errno names (strerror texts differ between glibc and musl) */
static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case ENOEXEC: return "ENOEXEC";
    case ELOOP: return "ELOOP";
    case ENOTDIR: return "ENOTDIR";
    case EFAULT: return "EFAULT";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    default: return "other";
    }
}

static void report(const char *what, pid_t p)
{
    int st;
    pid_t w = waitpid(p, &st, 0);
    if (w != p)
        printf("%s: waitpid failed: %s\n", what, ename(errno));
    else if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", what, WTERMSIG(st));
}

static void run(const char *what, const char *path, char *const argv[], char *const envp[])
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        execve(path, argv, envp);
        printf("%s: execve failed: %s\n", what, ename(errno));
        fflush(stdout);
        _exit(127);
    }
    report(what, p);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
    int fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    write(fd, text, strlen(text));
    close(fd);
    chmod(name, mode);
}

static void try_exec(const char *what, const char *path)
{
    char *argv[] = {(char *)path, NULL};
    errno = 0;
    int r = execve(path, argv, environ);
    printf("%s: execve returned %d errno=%s\n", what, r, ename(errno));
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *m = argv[1], *child = argv[2];
    if (!strcmp(m, "argvenv")) {
        char *cargv[] = {"proc_child", "argv", "one", "two words", "", "last=arg", NULL};
        char *cenv[] = {"PROC_A=1", "PROC_B=two words", "OTHER=x", "PROC_EMPTY=", NULL};
        run("argv+env", child, cargv, cenv);
        char *cargv2[] = {"proc_child", "argv", NULL};
        char *cenv2[] = {NULL};
        run("empty env", child, cargv2, cenv2);
        /* execvp with a slash in the name does no PATH search; execl passes our environ */
        setenv("PROC_FROM_PARENT", "inherited", 1);
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) {
            execl(child, "proc_child", "argv", "via execl", (char *)NULL);
            _exit(127);
        }
        report("execl", p);
        p = fork();
        if (p == 0) {
            char *a[] = {"proc_child", "exit", "37", NULL};
            execvp(child, a);
            _exit(127);
        }
        report("execvp exit 37", p);
    } else if (!strcmp(m, "errors")) {
        try_exec("missing file", "./no-such-program");
        try_exec("missing dir", "./no-such-dir/prog");
        write_file("not-executable", "\0asm", 0644);
        try_exec("mode 0644", "./not-executable");
        write_file("text-file", "just some text\nnot a program\n", 0755);
        try_exec("text without #!", "./text-file");
        write_file("empty-file", "", 0755);
        try_exec("empty file", "./empty-file");
        mkdir("a-directory", 0755);
        try_exec("directory", "./a-directory");
        write_file("bad-interp", "#!./no-such-interp\n", 0755);
        try_exec("#! to a missing interpreter", "./bad-interp");
        write_file("loop.sh", "#!./loop.sh\n", 0755);
        try_exec("#! loop", "./loop.sh");
        try_exec("empty path", "");
        printf("still running after failed execs\n");
    } else if (!strcmp(m, "script")) {
        const char *interp = argv[3];
        char text[512];
        snprintf(text, sizeof text, "#!%s argv\nthis line is never read by the kernel\n", interp);
        write_file("script.sh", text, 0755);
        char *sargv[] = {"script-argv0", "s1", "s 2", NULL};
        char *senv[] = {"PROC_SCRIPT=yes", NULL};
        run("script", "./script.sh", sargv, senv);
        snprintf(text, sizeof text, "#!%s   argv  \t\nx\n", interp);
        write_file("spaces.sh", text, 0755);
        char *sargv2[] = {"ignored", NULL};
        run("script with blanks", "./spaces.sh", sargv2, senv);
        snprintf(text, sizeof text, "#!%s\n", interp);
        write_file("noarg.sh", text, 0755);
        char *sargv3[] = {"ignored", "exit", "5", NULL};
        run("script without interp arg", "./noarg.sh", sargv3, senv);
        /* the interpreter itself named in a script: a nested script */
        write_file("nested.sh", "#!./script.sh\n", 0755);
        char *sargv4[] = {"n", "n1", NULL};
        run("nested script", "./nested.sh", sargv4, senv);
    } else if (!strcmp(m, "cloexec")) {
        int a = open("f.txt", O_CREAT | O_RDWR, 0644);
        int b = open("f.txt", O_RDONLY);
        fcntl(b, F_SETFD, FD_CLOEXEC);
        int c = open("f.txt", O_RDONLY | O_CLOEXEC);
        int d = dup(b); /* dup clears close-on-exec */
        int pf[2];
        pipe2(pf, O_CLOEXEC);
        int f = fcntl(a, F_DUPFD_CLOEXEC, 0);
        int g = open("f.txt", O_RDONLY | O_CLOEXEC);
        fcntl(g, F_SETFD, 0); /* cleared again */
        int fds[] = {a, b, c, d, pf[0], pf[1], f, g};
        for (int i = 0; i < 8; i++) {
            dup2(fds[i], 20 + i); /* dup2 clears FD_CLOEXEC: re-set it from the source */
            if (fcntl(fds[i], F_GETFD) & FD_CLOEXEC)
                fcntl(20 + i, F_SETFD, FD_CLOEXEC);
            printf("fd %d cloexec=%d\n", 20 + i, !!(fcntl(20 + i, F_GETFD) & FD_CLOEXEC));
        }
        dup3(a, 28, O_CLOEXEC);
        printf("fd 28 (dup3 O_CLOEXEC) cloexec=%d\n", !!(fcntl(28, F_GETFD) & FD_CLOEXEC));
        dup2(a, 29);
        printf("fd 29 (dup2) cloexec=%d\n", !!(fcntl(29, F_GETFD) & FD_CLOEXEC));
        char *cargv[] = {"proc_child", "fds", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", NULL};
        run("after exec", child, cargv, environ);
    } else if (!strcmp(m, "fexecve")) {
        int fd = open(child, O_RDONLY | O_CLOEXEC);
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) {
            char *a[] = {"proc_child", "argv", "from fexecve", NULL};
            char *e[] = {"PROC_F=1", NULL};
            fexecve(fd, a, e);
            printf("fexecve failed: %s\n", ename(errno));
            fflush(stdout);
            _exit(127);
        }
        report("fexecve", p);
    } else if (!strcmp(m, "signals")) {
        signal(SIGUSR1, SIG_IGN);
        signal(SIGUSR2, on_usr2);
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGTERM);
        sigprocmask(SIG_BLOCK, &s, NULL);
        char *a[] = {"proc_child", "sigdisp", NULL};
        run("signal state across exec", child, a, environ);
    } else {
        return 2;
    }
    return 0;
}
