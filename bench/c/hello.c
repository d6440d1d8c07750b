#include <stdio.h>

int main(int argc, char **argv)
{
    printf("hello from a cage: argv[0]=%s, %d argument(s)\n", argv[0], argc - 1);
    return 0;
}
