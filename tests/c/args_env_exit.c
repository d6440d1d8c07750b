/* argv, the environment, and the ways a program ends.
 * usage: args_env_exit MODE [N] [more args...]
 *   MODE = return N | exit N | _exit N | abort | atexit | none */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void h1(void) { printf("atexit handler 1\n"); }
static void h2(void) { printf("atexit handler 2\n"); }
static void h3(void)
{
    printf("atexit handler 3 (registered last, runs first)\n");
}

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s] len=%zu\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc] is NULL=%d\n", argv[argc] == NULL);
    const char *vars[] = {"LIND_A", "LIND_B", "LIND_EMPTY", "LIND_UNSET", "HOME", "PATH"};
    for (unsigned i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        printf("%s=%s\n", vars[i], v ? v : "(unset)");
    }
    int lind_vars = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "LIND_", 5) == 0)
            lind_vars++;
    printf("environ LIND_* count=%d\n", lind_vars);

    const char *mode = argc > 1 ? argv[1] : "none";
    int code = argc > 2 ? atoi(argv[2]) : 0;
    if (strcmp(mode, "atexit") == 0 || strcmp(mode, "exit") == 0 || strcmp(mode, "return") == 0) {
        atexit(h1);
        atexit(h2);
        atexit(h3);
    }
    printf("buffered output before the end\n");
    if (strcmp(mode, "return") == 0)
        return code;
    if (strcmp(mode, "exit") == 0)
        exit(code);
    if (strcmp(mode, "_exit") == 0) {
        fflush(stdout);
        printf("this line is lost: _exit does not flush stdio\n");
        _exit(code);
    }
    if (strcmp(mode, "abort") == 0) {
        fflush(stdout);
        printf("this line is lost too\n");
        abort();
    }
    if (strcmp(mode, "atexit") == 0)
        return 0;
    return 0;
}
