/* Reads all of stdin: counts lines and bytes, echoes it upper-cased. */
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    unsigned char buf[4096];
    long bytes = 0, lines = 0, reads = 0;
    unsigned sum = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        reads++;
        bytes += n;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n')
                lines++;
            sum = sum * 31 + buf[i];
            buf[i] = (unsigned char)toupper(buf[i]);
        }
        fwrite(buf, 1, (size_t)n, stdout);
    }
    printf("\n-- read returned %zd at the end; %ld bytes, %ld lines, sum %u, reads>0 %d\n", n, bytes, lines, sum,
           reads > 0);
    /* stdin at EOF keeps returning 0 */
    printf("read after eof=%zd\n", read(0, buf, sizeof buf));
    int c = getchar();
    printf("getchar after eof is EOF=%d\n", c == EOF);
    return 0;
}
