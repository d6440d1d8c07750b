/* 3i table theft: copies the 3i table of another tenant's cage (argv[1]: its pid) into this cage,
 * and makes a grate of that tenant act for us; prints what each call gave. */
#include <errno.h>
#include <lind_syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    uint64_t v = (uint64_t)atoll(argv[1]);
    int r = copy_handler_table_to_cage(v, (uint64_t)getpid());
    printf("copy from it: %s\n", r == 0 ? "0" : errno == EPERM ? "EPERM" : strerror(errno));
    r = copy_handler_table_to_cage((uint64_t)getpid(), v);
    printf("copy to it: %s\n", r == 0 ? "0" : errno == EPERM ? "EPERM" : strerror(errno));
    r = register_handler(v, 39 /* getpid */, (uint64_t)getpid(), 1);
    printf("register for it: %s\n", r == 0 ? "0" : errno == EPERM ? "EPERM" : strerror(errno));
    return 0;
}
