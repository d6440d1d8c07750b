/* kern/pids.c: the pid and tid space. Pids and tids share one space, as on Linux, and are drawn
 * at random from it, each unique while in use: their values tell a cage nothing of other tenants
 * (how many cages the process has made, when), which sequential numbers would. A pid is in use
 * while its process entry exists (kern/proc.c), a tid while its thread does.
 * Calls: base/ (util).        Called by: kern/ (proc, thread), sys/, threei/. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/random.h>

#include "base/util.h"
#include "kern/pids.h"

#define PID_MIN 300
#define PID_MAX (1 << 22) /* Linux's pid_max on 64-bit hosts */

static pthread_mutex_t pid_lock = PTHREAD_MUTEX_INITIALIZER; /* a leaf lock */
static uint64_t pid_used[PID_MAX / 64];
static uint64_t pid_rng;

static int pid_is_used(int pid) { return (pid_used[pid / 64] >> (pid % 64)) & 1; }

int pid_take(void)
{
    pthread_mutex_lock(&pid_lock);
    while (!pid_rng && getrandom(&pid_rng, sizeof pid_rng, 0) != (ssize_t)sizeof pid_rng)
        pid_rng = (uint64_t)monotonic_ns() | 1;
    pid_rng ^= pid_rng << 13; /* xorshift64 */
    pid_rng ^= pid_rng >> 7;
    pid_rng ^= pid_rng << 17;
    int start = PID_MIN + (int)(pid_rng % (PID_MAX - PID_MIN)), found = -EAGAIN;
    for (int i = 0; i < PID_MAX - PID_MIN; i++) {
        int pid = PID_MIN + (start - PID_MIN + i) % (PID_MAX - PID_MIN);
        if (!pid_is_used(pid)) {
            pid_used[pid / 64] |= 1ull << (pid % 64);
            found = pid;
            break;
        }
    }
    pthread_mutex_unlock(&pid_lock);
    return found;
}

void pid_release(int pid)
{
    if (pid < PID_MIN || pid >= PID_MAX)
        return;
    pthread_mutex_lock(&pid_lock);
    pid_used[pid / 64] &= ~(1ull << (pid % 64));
    pthread_mutex_unlock(&pid_lock);
}
