/* string.h and ctype.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int sgn(int v) { return (v > 0) - (v < 0); }

int main(void)
{
    const char *volatile hello = "hello, world";
    printf("strlen=%zu %zu\n", strlen(hello), strlen(""));
    printf("strcmp=%d %d %d %d\n", sgn(strcmp("abc", "abd")), sgn(strcmp("abc", "abc")), sgn(strcmp("b", "abc")),
           sgn(strcmp("\xff", "a")));
    printf("strncmp=%d %d\n", sgn(strncmp("abcdef", "abcxyz", 3)), sgn(strncmp("abcdef", "abcxyz", 4)));
    printf("strcasecmp=%d strncasecmp=%d\n", sgn(strcasecmp("HeLLo", "hello")), sgn(strncasecmp("ABCd", "abce", 3)));

    char buf[32];
    memset(buf, 'X', sizeof buf);
    strncpy(buf, "abc", 6);
    printf("strncpy pad:");
    for (int i = 0; i < 8; i++)
        printf(" %02x", (unsigned char)buf[i]);
    printf("\n");
    memset(buf, 'X', sizeof buf);
    strncpy(buf, "abcdefgh", 4);
    printf("strncpy nonul: %.6s\n", buf);
    strcpy(buf, "foo");
    strcat(buf, "bar");
    strncat(buf, "bazqux", 3);
    printf("strcat=%s\n", buf);

    const char *hay = "the quick brown fox jumps over the lazy dog";
    printf("strstr=%s|%s|%d\n", strstr(hay, "fox"), strstr(hay, ""), strstr(hay, "cat") == NULL);
    printf("strchr=%s strrchr=%s strchr0=%d\n", strchr(hay, 'q'), strrchr(hay, 'o'), (int)(strchr(hay, 0) - hay));
    printf("strspn=%zu strcspn=%zu strpbrk=%s\n", strspn("aaabbbccc", "ab"), strcspn("hello world", " w"),
           strpbrk(hay, "xyz"));

    char tok[] = "  alpha,beta;;gamma , delta  ";
    int n = 0;
    for (char *t = strtok(tok, " ,;"); t; t = strtok(NULL, " ,;"))
        printf("tok[%d]=%s\n", n++, t);
    char tok2[] = "a:b::c";
    char *save, *p = tok2;
    while ((p = strtok_r(p, ":", &save)) != NULL) {
        printf("tok_r=%s\n", p);
        p = NULL;
    }

    char ov[32] = "0123456789abcdef";
    memmove(ov + 4, ov, 10);
    printf("memmove fwd=%s\n", ov);
    strcpy(ov, "0123456789abcdef");
    memmove(ov, ov + 6, 10);
    printf("memmove back=%s\n", ov);
    char big[4096];
    for (int i = 0; i < 4096; i++)
        big[i] = (char)(i * 7);
    memmove(big + 1, big, 4000);
    unsigned sum = 0;
    for (int i = 0; i < 4096; i++)
        sum = sum * 31 + (unsigned char)big[i];
    printf("memmove big sum=%u\n", sum);
    memcpy(big, "xyz", 3);
    printf("memcmp=%d %d\n", sgn(memcmp("abc", "abd", 3)), memcmp("abc", "abd", 2));

    const char mem[] = "abc\0def\0ghi";
    const char *m = memchr(mem, 'g', sizeof mem);
    printf("memchr=%d %d\n", m ? (int)(m - mem) : -1, memchr(mem, 'z', sizeof mem) == NULL);
    printf("memset:");
    memset(buf, 0x5a, 5);
    for (int i = 0; i < 5; i++)
        printf(" %02x", (unsigned char)buf[i]);
    printf("\n");

    char *d = strdup(hello);
    d[0] = 'H';
    printf("strdup=%s orig=%s\n", d, hello);
    free(d);
    d = strndup(hello, 5);
    printf("strndup=%s len=%zu\n", d, strlen(d));
    free(d);
    printf("strnlen=%zu %zu\n", strnlen(hello, 3), strnlen(hello, 100));

    printf("strerror ENOENT=%s\n", strerror(ENOENT));
    printf("strerror EBADF=%s\n", strerror(EBADF));
    printf("strerror EEXIST=%s\n", strerror(EEXIST));
    printf("strerror EISDIR=%s\n", strerror(EISDIR));
    printf("strerror EACCES=%s\n", strerror(EACCES));
    printf("strerror 0 nonempty=%d\n", strerror(0)[0] != 0);

    /* ctype in the C locale, over all of 0..255 */
    const char *names[] = {"alpha", "digit", "alnum", "space", "upper", "lower", "punct", "xdigit", "cntrl",
                           "print", "graph", "blank"};
    int (*fns[])(int) = {isalpha, isdigit, isalnum, isspace, isupper, islower, ispunct, isxdigit, iscntrl,
                         isprint, isgraph, isblank};
    for (int k = 0; k < 12; k++) {
        int cnt = 0;
        unsigned h = 0;
        for (int c = 0; c < 256; c++)
            if (fns[k](c)) {
                cnt++;
                h = h * 131 + (unsigned)c;
            }
        printf("is%s: %d chars hash %u\n", names[k], cnt, h);
    }
    printf("isalpha(EOF)=%d\n", isalpha(EOF) != 0);
    char up[] = "Hello, World! 123 xyz";
    for (char *q = up; *q; q++)
        *q = (char)toupper((unsigned char)*q);
    printf("toupper=%s\n", up);
    for (char *q = up; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    printf("tolower=%s\n", up);
    printf("toupper(0xe9)=%d tolower('A')=%c\n", toupper(0xe9), tolower('A'));
    return 0;
}
