/* fakeid: a grate that answers getuid/geteuid/getgid/getegid with values given on the command line.
 *
 *   lind run --root R fakeid.wasm [--uid N] [--euid N] [--gid N] [--egid N] /prog.wasm [args...]
 *
 * Every id defaults to 0 ("root"); --uid alone also sets the effective uid unless --euid is given
 * (likewise --gid for the effective gid). The program and everything it forks or execs sees the
 * fake ids; every other call goes to the microvisor. */
#include <stdlib.h>

#include "grate.h"

#define SYS_getuid 102
#define SYS_getgid 104
#define SYS_geteuid 107
#define SYS_getegid 108

static int uid, euid, gid, egid; /* set once in main, before the program starts: no lock needed */

HANDLER(h_getuid) { return uid; }
HANDLER(h_geteuid) { return euid; }
HANDLER(h_getgid) { return gid; }
HANDLER(h_getegid) { return egid; }

static int register_all(uint64_t me)
{
    if (register_handler(me, SYS_getuid, grateid, (uint64_t)(uintptr_t)&h_getuid) < 0 ||
        register_handler(me, SYS_geteuid, grateid, (uint64_t)(uintptr_t)&h_geteuid) < 0 ||
        register_handler(me, SYS_getgid, grateid, (uint64_t)(uintptr_t)&h_getgid) < 0 ||
        register_handler(me, SYS_getegid, grateid, (uint64_t)(uintptr_t)&h_getegid) < 0) {
        perror("fakeid: register_handler");
        return -1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: fakeid [--uid N] [--euid N] [--gid N] [--egid N] PROGRAM [ARGS...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int i = 1, have_euid = 0, have_egid = 0;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            return usage();
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--uid") == 0) {
            uid = v;
        } else if (strcmp(argv[i], "--euid") == 0) {
            euid = v;
            have_euid = 1;
        } else if (strcmp(argv[i], "--gid") == 0) {
            gid = v;
        } else if (strcmp(argv[i], "--egid") == 0) {
            egid = v;
            have_egid = 1;
        } else {
            return usage();
        }
        i++;
    }
    if (i >= argc)
        return usage();
    if (!have_euid)
        euid = uid;
    if (!have_egid)
        egid = gid;

    return grate_run("fakeid", &argv[i], register_all);
}
