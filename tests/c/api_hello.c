/* tests/test_api.py, tests/test_batch.py, bench/batch.py: the smallest useful cage. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("hello %s\n", argc > 1 ? argv[1] : "world");
    return 0;
}
