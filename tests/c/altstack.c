/* sigaltstack: an SA_ONSTACK handler runs on the alternate stack (a local of the handler lies in
 * it) and sigaltstack reports SS_ONSTACK there; a handler without SA_ONSTACK does not; errors
 * (too small, bad flags, changing it while on it), SS_DISABLE. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *alt;
static size_t alt_size = 65536;
static volatile int in_alt, flags_inside, change_inside;

static void handler(int sig)
{
    volatile char here = 0;
    (void)sig;
    in_alt = &here >= alt && &here < alt + alt_size;
    stack_t cur;
    sigaltstack(NULL, &cur);
    flags_inside = cur.ss_flags;
    stack_t other = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0};
    change_inside = sigaltstack(&other, NULL) == -1 && errno == EPERM;
}

int main(void)
{
    alt = malloc(alt_size);
    stack_t ss = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 0}, old;
    printf("sigaltstack: %d\n", sigaltstack(&ss, &old));
    printf("none before: %d\n", (old.ss_flags & SS_DISABLE) != 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("SA_ONSTACK: on the alternate stack %d, flags SS_ONSTACK %d, change refused %d\n", in_alt,
           flags_inside == SS_ONSTACK, change_inside);
    sa.sa_flags = 0;
    sigaction(SIGUSR2, &sa, NULL);
    raise(SIGUSR2);
    printf("without SA_ONSTACK: on the alternate stack %d, flags %d\n", in_alt, flags_inside);
    stack_t small = {.ss_sp = alt, .ss_size = 100, .ss_flags = 0};
    int r = sigaltstack(&small, NULL);
    printf("too small: %d %s\n", r, r < 0 && errno == ENOMEM ? "ENOMEM" : "?");
    stack_t bad = {.ss_sp = alt, .ss_size = alt_size, .ss_flags = 12345};
    r = sigaltstack(&bad, NULL);
    printf("bad flags: %d %s\n", r, r < 0 && errno == EINVAL ? "EINVAL" : "?");
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    sigaltstack(NULL, &old);
    printf("disabled: %d\n", (old.ss_flags & SS_DISABLE) != 0);
    raise(SIGUSR1);
    printf("SA_ONSTACK with none: on the old alternate stack %d\n", in_alt);
    return 0;
}
