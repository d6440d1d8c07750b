/* Forks n children (argv[1]) one after another; each pipes a line back to its parent, which waits for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1;
    for (int i = 0; i < n; i++) {
        int p[2]; if (pipe(p)) return 2;
        pid_t pid = fork();
        if (pid < 0) return 3;
        if (pid == 0) { close(p[0]); char b[64]; int l = snprintf(b, sizeof b, "child %d\n", i); write(p[1], b, l); _exit(0); }
        close(p[1]); char b[64]; int l = read(p[0], b, sizeof b); close(p[0]);
        int st; waitpid(pid, &st, 0);
        if (l > 0) fwrite(b, 1, l, stdout);
    }
    return 0;
}
