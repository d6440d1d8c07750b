/* Used when the program defines `int main(int, char **)` (clang calls it
 * __main_argc_argv) or `int main(int, char **, char **)`.  A program with
 * `int main(void)` defines __main_void itself, and this weak one is not
 * linked.  See libc/crt/crt1.c. */
extern int __lind_argc;
extern char **__lind_argv;

int __main_argc_argv(int, char **);

__attribute__((__weak__))
int __main_void(void)
{
	return __main_argc_argv(__lind_argc, __lind_argv);
}
