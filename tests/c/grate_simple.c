/* A small program whose system calls the strace grate test checks. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    char buf[64];
    int fd = open("/hello.txt", O_RDONLY);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n > 0)
        write(1, buf, (size_t)n);
    struct stat st;
    if (stat("/missing.txt", &st) == 0)
        return 2;
    mkdir("/newdir", 0755);
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    int status;
    waitpid(pid, &status, 0);
    printf("child=%d euid=%d\n", WEXITSTATUS(status), (int)geteuid());
    return 0;
}
