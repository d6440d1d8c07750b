/* printf/scanf family and stdio streams. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    printf("d=%d i=%i u=%u neg=%d\n", 42, -7, 4000000000u, INT_MIN);
    printf("x=%x X=%X o=%o #x=%#x #o=%#o\n", 255, 255, 8, 255, 8);
    printf("w=[%5d] [%-5d] [%05d] [%+d] [% d]\n", 42, 42, 42, 42, 42);
    printf("prec=[%.3d] [%8.3d] [%.0d]\n", 7, 7, 0);
    printf("lld=%lld llu=%llu llx=%llx\n", LLONG_MIN, ULLONG_MAX, 0x123456789abcdefULL);
    printf("zu=%zu zd=%zd jd=%jd\n", (size_t)123456, (ssize_t)-5, (intmax_t)INT64_MAX);
    printf("hhd=%hhd hd=%hd\n", (signed char)-1, (short)-32768);
    printf("e=%e %.3e %E\n", 12345.678, 0.000123456, 1e300);
    printf("f=%f %.2f %10.4f %-10.1f| %.0f %.0f\n", 3.14159, -2.005, 1.5, 2.25, 0.5, 1.5);
    printf("g=%g %g %g %g %.3g %#g\n", 100000.0, 1000000.0, 0.0001, 0.00001, 3.14159, 1.0);
    printf("a=%a %a %a %A\n", 1.0, 0.5, -3.75, 255.0);
    printf("special=%f %f %f %F %e %f %5.1f|\n", (double)INFINITY, -(double)INFINITY, (double)NAN, (double)INFINITY,
           0.0, -0.0, (double)NAN);
    printf("Lf=%Lf %.3Lf %Le\n", 1.5L, -0.125L, 1024.0L);
    printf("s=[%s] [%10s] [%-10s] [%.3s]\n", "hello", "hi", "hi", "truncate");
    printf("c=%c%c%c\n", 'a', 'B', '0');
    printf("pct=%% star=[%*d] [%-*d] [%.*f]\n", 6, 1, 6, 2, 2, 3.14159);
    char pbuf[64];
    snprintf(pbuf, sizeof pbuf, "%p", (void *)0);
    int pnull_ok = strcmp(pbuf, "(nil)") == 0 || strspn(pbuf, "0x") == strlen(pbuf);
    printf("p(NULL) is a null rendering: %d\n", pnull_ok);
    int n;
    printf("abc%n", &n);
    printf(" n=%d\n", n);

    /* snprintf truncation */
    char small[8];
    const char *volatile tr = "truncated";
    int r = snprintf(small, sizeof small, "%s-%d", tr, 12345);
    printf("snprintf r=%d buf=[%s] len=%zu\n", r, small, strlen(small));
    r = snprintf(NULL, 0, "%d", 1234567);
    printf("snprintf(NULL,0) r=%d\n", r);
    r = snprintf(small, 1, "%s", tr + 6);
    printf("snprintf size1 r=%d buf=[%s]\n", r, small);
    (void)tr;

    /* sscanf */
    int a, b;
    unsigned ux;
    double dd;
    char word[32], rest[32];
    r = sscanf("  12 -34 ff 2.5e3 word tail", "%d %d %x %lf %31s %31s", &a, &b, &ux, &dd, word, rest);
    printf("sscanf r=%d a=%d b=%d x=%u d=%g w=%s rest=%s\n", r, a, b, ux, dd, word, rest);
    r = sscanf("abc", "%d", &a);
    printf("sscanf nomatch r=%d\n", r);
    r = sscanf("", "%d", &a);
    printf("sscanf empty r=%d\n", r);
    long long ll;
    char ch;
    r = sscanf("9223372036854775807,z", "%lld,%c", &ll, &ch);
    printf("sscanf ll r=%d ll=%lld c=%c\n", r, ll, ch);
    char set[16];
    r = sscanf("abc123def", "%15[a-z]%d", set, &a);
    printf("sscanf set r=%d set=%s a=%d\n", r, set, a);

    /* fputs / fgets / fprintf / fscanf via a file */
    FILE *f = fopen("stdio_test.txt", "w");
    if (!f) {
        printf("fopen w failed errno=%d\n", errno);
        return 1;
    }
    static char fbuf[256];
    printf("setvbuf full=%d\n", setvbuf(f, fbuf, _IOFBF, sizeof fbuf));
    fputs("first line\n", f);
    fprintf(f, "second %d %s\n", 2, "line");
    fputc('x', f);
    fputs("\nno newline at end", f);
    printf("ftell=%ld\n", ftell(f));
    printf("fclose=%d\n", fclose(f));

    f = fopen("stdio_test.txt", "r");
    char line[64];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        size_t L = strlen(line);
        printf("line %d (%zu): %s%s", ++ln, L, line, line[L - 1] == '\n' ? "" : "<EOF>\n");
    }
    printf("feof=%d ferror=%d\n", feof(f) != 0, ferror(f) != 0);
    rewind(f);
    char w1[16], w2[16];
    r = fscanf(f, "%15s %15s", w1, w2);
    printf("fscanf r=%d %s %s\n", r, w1, w2);
    fseek(f, -3, SEEK_END);
    int c1 = fgetc(f), c2 = fgetc(f), c3 = fgetc(f), c4 = fgetc(f);
    printf("fgetc after seek: %c%c%c then %d\n", c1, c2, c3, c4 == EOF ? -1 : c4);
    c1 = ungetc('Q', f);
    c2 = fgetc(f);
    printf("ungetc=%c fgetc=%c\n", c1, c2);
    fclose(f);

    /* small fgets buffer */
    f = fopen("stdio_test.txt", "r");
    char tiny[5];
    fgets(tiny, sizeof tiny, f);
    printf("tiny=[%s]\n", tiny);
    fclose(f);

    /* append mode, unbuffered, line buffered */
    f = fopen("stdio_test.txt", "a");
    printf("setvbuf none=%d\n", setvbuf(f, NULL, _IONBF, 0));
    fputs("|appended", f);
    fclose(f);
    f = fopen("stdio_test.txt", "r+");
    printf("setvbuf line=%d\n", setvbuf(f, NULL, _IOLBF, 64));
    fseek(f, 0, SEEK_END);
    printf("size=%ld\n", ftell(f));
    fseek(f, 0, SEEK_SET);
    fputs("FIRST", f);
    fflush(f);
    fseek(f, 0, SEEK_SET);
    fgets(line, sizeof line, f);
    printf("after r+ write: %s", line);
    fclose(f);

    /* fread / fwrite binary */
    f = fopen("bin.dat", "wb+");
    int arr[5] = {1, -2, 3, 0x7fffffff, -2147483647 - 1}, back[5] = {0};
    printf("fwrite=%zu\n", fwrite(arr, sizeof arr[0], 5, f));
    rewind(f);
    printf("fread=%zu\n", fread(back, sizeof back[0], 5, f));
    printf("same=%d\n", memcmp(arr, back, sizeof arr) == 0);
    size_t got = fread(back, 1, 1, f);
    printf("fread at eof=%zu feof=%d\n", got, feof(f) != 0);
    fclose(f);

    f = fopen("does/not/exist", "r");
    printf("fopen missing: %s errno=%d\n", f ? "opened" : "NULL", errno == ENOENT ? 2 : errno);

    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("stdout line buffered\n");
    fprintf(stderr, "to stderr\n");
    return 0;
}
