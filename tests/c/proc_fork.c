/* fork: chains, trees, copied memory, shared file offsets, stdio flushing.
 * usage: proc_fork chain|tree|copy|fdshare|flush|vfork */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int chain(int depth)
{
    /* each process forks the next; the last one exits 0, every parent adds 1 to its child's code */
    if (depth == 0)
        return 0;
    pid_t me = getpid();
    pid_t p = fork();
    if (p < 0) {
        perror("fork");
        return 200;
    }
    if (p == 0) {
        if (getppid() != me)
            _exit(201);
        fflush(stdout);
        _exit(chain(depth - 1));
    }
    int st;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st))
        return 202;
    return WEXITSTATUS(st) + 1;
}

static int tree(int depth, int id)
{
    /* binary tree: a node's code is its id plus its children's codes (mod 256 is avoided by
     * returning only the count of nodes in the subtree) */
    if (depth == 0)
        return 1;
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] < 0)
            return 250;
        if (kids[i] == 0)
            _exit(tree(depth - 1, id * 2 + i));
    }
    int sum = 1;
    for (int i = 1; i >= 0; i--) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st))
            return 251;
        sum += WEXITSTATUS(st);
    }
    return sum;
}

static int global_counter = 42;
static char static_buf[64] = "static data";

static void copy(void)
{
    int local = 7;
    char *heap = malloc(1 << 20);
    memset(heap, 'p', 1 << 20);
    strcpy(heap, "heap data");
    pid_t p = fork();
    if (p == 0) {
        local = 1000;
        global_counter = 1000;
        strcpy(static_buf, "child changed static");
        strcpy(heap, "child changed heap");
        heap[(1 << 20) - 1] = 'c';
        char *more = malloc(4 << 20);
        memset(more, 'x', 4 << 20);
        printf("child: local=%d global=%d static=%s heap=%s last=%c\n", local, global_counter, static_buf, heap,
               heap[(1 << 20) - 1]);
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    printf("parent: local=%d global=%d static=%s heap=%s last=%c\n", local, global_counter, static_buf, heap,
           heap[(1 << 20) - 1]);
    /* the parent's heap still works after the child allocated a lot */
    char *again = malloc(1 << 16);
    memset(again, 'a', 1 << 16);
    printf("parent malloc after fork ok=%d\n", again != NULL && again[100] == 'a');
}

static void fdshare(void)
{
    int fd = open("shared.txt", O_CREAT | O_TRUNC | O_RDWR, 0644);
    int tochild[2], toparent[2];
    pipe(tochild);
    pipe(toparent);
    pid_t p = fork();
    char tok;
    if (p == 0) {
        for (int i = 0; i < 5; i++) {
            read(tochild[0], &tok, 1);
            char line[32];
            int n = snprintf(line, sizeof line, "child %d at %ld\n", i, (long)lseek(fd, 0, SEEK_CUR));
            write(fd, line, n);
            write(toparent[1], "c", 1);
        }
        _exit(0);
    }
    for (int i = 0; i < 5; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "parent %d at %ld\n", i, (long)lseek(fd, 0, SEEK_CUR));
        write(fd, line, n);
        write(tochild[1], "p", 1);
        read(toparent[0], &tok, 1);
    }
    int st;
    waitpid(p, &st, 0);
    printf("final offset=%ld\n", (long)lseek(fd, 0, SEEK_CUR));
    lseek(fd, 0, SEEK_SET);
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("file:\n%s", buf);
    close(fd);
    /* a child's close does not close the parent's descriptor */
    fd = open("shared.txt", O_RDONLY);
    if (fork() == 0) {
        close(fd);
        _exit(0);
    }
    wait(NULL);
    printf("parent fd still readable=%d\n", read(fd, buf, 5) == 5);
}

static void flush(void)
{
    /* stdout is a pipe or file here: fully buffered. Flushed before fork, the text appears once;
     * with _exit in the child, unflushed child text is lost as natively. */
    printf("before fork (flushed)\n");
    fflush(stdout);
    printf("buffered in both");
    pid_t p = fork();
    if (p == 0) {
        printf(" [child]\n");
        exit(0); /* exit flushes the copied buffer */
    }
    waitpid(p, NULL, 0);
    printf(" [parent]\n");
    fflush(stdout);
    if (fork() == 0) {
        printf("lost with _exit\n");
        _exit(0);
    }
    wait(NULL);
    printf("end\n");
}

static void do_vfork(void)
{
    pid_t p = vfork();
    if (p == 0)
        _exit(9);
    int st = 0;
    int same = waitpid(p, &st, 0) == p;
    printf("vfork: wait returned child=%d status=%d\n", same, WEXITSTATUS(st));
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!strcmp(m, "chain")) {
        int r = chain(20);
        printf("chain depth 20: code %d\n", r);
        return r == 20 ? 0 : 1;
    }
    if (!strcmp(m, "tree")) {
        int r = tree(4, 1);
        printf("tree depth 4: %d nodes\n", r);
        return r == 31 ? 0 : 1;
    }
    if (!strcmp(m, "copy"))
        copy();
    else if (!strcmp(m, "fdshare"))
        fdshare();
    else if (!strcmp(m, "flush"))
        flush();
    else if (!strcmp(m, "vfork"))
        do_vfork();
    else
        return 2;
    return 0;
}
