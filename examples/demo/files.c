/* Writes, lists and reads back files inside the cage's root. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    char cwd[256];
    mkdir("demo-out", 0755);
    FILE *f = fopen("demo-out/greeting.txt", "w");
    if (!f) {
        perror("fopen");
        return 1;
    }
    fprintf(f, "written by a cage\n");
    fclose(f);
    DIR *d = opendir("demo-out");
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            printf("demo-out/%s\n", e->d_name);
    closedir(d);
    char line[64] = "";
    f = fopen("demo-out/greeting.txt", "r");
    fgets(line, sizeof line, f);
    fclose(f);
    printf("read back: %s", line);
    printf("cwd inside the cage: %s\n", getcwd(cwd, sizeof cwd));
    FILE *p = fopen("/../../../etc/passwd", "r");
    printf("escape to the host's /etc/passwd: %s\n", p ? "POSSIBLE (bug!)" : strerror(errno));
    return 0;
}
