/* Only linked when the program has no __main_argc_argv, i.e. it defines
 * `int main(int, char **, char **)` (clang keeps that one as `main`); if it
 * has no main at all, the reference to main makes the link fail as usual. */
extern char **__environ;

int main(int, char **, char **);

int __main_argc_argv(int argc, char **argv)
{
	return main(argc, argv, __environ);
}
