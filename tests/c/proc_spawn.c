/* posix_spawn (the host makes the child without unwinding the caller's stack): a spawned copy of
 * this program at ./spawned, file actions (open, dup2 of a pipe, close), the exit status, and the
 * error of a program that does not exist. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int spawn_wait(char *const argv[], const posix_spawn_file_actions_t *fa)
{
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], fa, NULL, argv, environ);
    if (r)
        return -r;
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1000;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "child") == 0) {
        printf("child says %s\n", argv[2]);
        return atoi(argv[2]);
    }
    char *args[] = {"./spawned", "child", "7", NULL};
    printf("plain: status %d\n", spawn_wait(args, NULL));

    char *missing[] = {"./no-such-program", NULL};
    int r = spawn_wait(missing, NULL);
    printf("missing: %s\n", r < 0 ? strerror(-r) : "ran");

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *a5[] = {"./spawned", "child", "5", NULL};
    printf("to a file: status %d\n", spawn_wait(a5, &fa));
    posix_spawn_file_actions_destroy(&fa);
    char line[64] = "";
    FILE *f = fopen("out.txt", "r");
    if (f && fgets(line, sizeof line, f))
        printf("file has: %s", line);

    int p[2];
    if (pipe(p) < 0)
        return 1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    char *a3[] = {"./spawned", "child", "3", NULL};
    printf("through a pipe: status %d\n", spawn_wait(a3, &fa));
    close(p[1]);
    ssize_t n = read(p[0], line, sizeof line - 1);
    line[n > 0 ? n : 0] = 0;
    printf("pipe had: %s", line);
    for (int i = 0; i < 50; i++) /* many in a row */
        if (spawn_wait(args, NULL) != 7 && printf("spawn %d failed\n", i))
            return 1;
    printf("50 more spawned\n");
    return 0;
}
