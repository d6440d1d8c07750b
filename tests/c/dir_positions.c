/* telldir/seekdir: every position telldir gave leads seekdir back to the entry that followed it (a
 * 64-bit host's ext4 positions do not fit the guest's long); rewinddir starts over. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 60

int main(void)
{
    char names[N + 2][32], p[64];
    long pos[N + 3];
    mkdir("d", 0755);
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "d/entry-%d", i);
        close(open(p, O_CREAT | O_WRONLY, 0644));
    }
    DIR *d = opendir("d");
    int n = 0;
    struct dirent *de;
    pos[0] = telldir(d);
    while (n < N + 2 && (de = readdir(d))) {
        strcpy(names[n], de->d_name);
        pos[++n] = telldir(d);
    }
    printf("entries: %d, positions fit a long and are not negative: %d\n", n, pos[n / 2] >= 0);
    int good = 0;
    for (int k = 0; k < n; k++) {
        int i = (k * 37) % n; /* an order unlike the first pass */
        seekdir(d, pos[i]);
        de = readdir(d);
        good += de && strcmp(de->d_name, names[i]) == 0;
    }
    printf("seekdir back to %d positions: %d right\n", n, good);
    seekdir(d, pos[n]);
    printf("at the end: %s\n", readdir(d) ? "more" : "nothing more");
    rewinddir(d);
    de = readdir(d);
    printf("rewinddir: first again %d\n", de && strcmp(de->d_name, names[0]) == 0);
    closedir(d);
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "d/entry-%d", i);
        unlink(p);
    }
    rmdir("d");
    return 0;
}
