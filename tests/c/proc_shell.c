/* A tiny shell: reads command lines from stdin ("cmd args | cmd args ..."), runs each pipeline
 * with fork, dup2 and execvp (PATH search), waits for every stage and prints the statuses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXARGS 16
#define MAXCMDS 8

static int split(char *s, char **argv)
{
    int n = 0;
    for (char *t = strtok(s, " \t\n"); t && n < MAXARGS - 1; t = strtok(NULL, " \t\n"))
        argv[n++] = t;
    argv[n] = NULL;
    return n;
}

int main(void)
{
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0])
            continue;
        printf("$ %s\n", line);
        fflush(stdout);
        if (!strcmp(line, "exit"))
            break;
        char *parts[MAXCMDS];
        int ncmd = 0;
        for (char *save = NULL, *p = strtok_r(line, "|", &save); p && ncmd < MAXCMDS; p = strtok_r(NULL, "|", &save))
            parts[ncmd++] = p;
        pid_t pids[MAXCMDS];
        int in = -1;
        for (int i = 0; i < ncmd; i++) {
            char *argv[MAXARGS];
            split(parts[i], argv);
            int pfd[2] = {-1, -1};
            if (i + 1 < ncmd)
                pipe(pfd);
            pids[i] = fork();
            if (pids[i] == 0) {
                if (in >= 0) {
                    dup2(in, 0);
                    close(in);
                }
                if (pfd[1] >= 0) {
                    dup2(pfd[1], 1);
                    close(pfd[1]);
                    close(pfd[0]);
                }
                if (!argv[0])
                    _exit(0);
                execvp(argv[0], argv);
                fprintf(stderr, "sh: %s: %s\n", argv[0], errno == ENOENT ? "not found" : "cannot run");
                _exit(errno == ENOENT ? 127 : 126);
            }
            if (in >= 0)
                close(in);
            if (pfd[1] >= 0)
                close(pfd[1]);
            in = pfd[0];
        }
        for (int i = 0; i < ncmd; i++) {
            int st;
            if (waitpid(pids[i], &st, 0) != pids[i]) {
                printf("[%d: wait failed]\n", i);
                continue;
            }
            if (WIFEXITED(st))
                printf("[%d: exit %d]\n", i, WEXITSTATUS(st));
            else
                printf("[%d: signal %d]\n", i, WTERMSIG(st));
        }
        fflush(stdout);
    }
    printf("bye\n");
    return 0;
}
