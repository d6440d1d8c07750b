/* The working directory is a directory, not a path: it follows renames of itself and its parents,
 * and relative paths keep working through a renamed cwd. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char start[4096];

static void show(const char *label)
{
    char buf[4096];
    size_t n = strcmp(start, "/") == 0 ? 0 : strlen(start);
    if (!getcwd(buf, sizeof buf))
        printf("%s: getcwd errno=%d\n", label, errno);
    else
        printf("%s: cwd=%s\n", label, strncmp(buf, start, n) == 0 ? (buf[n] ? buf + n : "/") : "(outside)");
}

static void cat(const char *p)
{
    char b[64] = {0};
    int fd = open(p, O_RDONLY);
    if (fd < 0) {
        printf("open %s: errno=%d\n", p, errno);
        return;
    }
    if (read(fd, b, sizeof b - 1) < 0)
        printf("read failed\n");
    close(fd);
    printf("open %s: %s\n", p, b);
}

int main(void)
{
    getcwd(start, sizeof start);
    mkdir("a", 0755);
    mkdir("a/b", 0755);
    int fd = open("a/b/f", O_CREAT | O_WRONLY, 0644);
    if (write(fd, "content", 7) != 7)
        printf("write failed\n");
    close(fd);
    chdir("a/b");
    show("in a/b");
    printf("rename parent=%d\n", rename("../../a", "../../z"));
    show("after renaming a to z");
    cat("f");
    fd = open("new", O_CREAT | O_WRONLY, 0644);
    printf("create in cwd ok=%d\n", fd >= 0);
    close(fd);
    printf("chdir .. =%d\n", chdir(".."));
    show("after chdir ..");
    printf("exists z/b/new=%d\n", access("b/new", F_OK) == 0);
    return 0;
}
