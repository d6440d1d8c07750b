/* base/pagemap.h: which host pages of a range of memory were written (/proc/self/pagemap), and runs
 * of selected pages; fork copies and memory reuse only touch those.
 * Calls: libc only.        Called by: kern/mm, kern/cowfork, rt/instance. */
#ifndef LIND_BASE_PAGEMAP_H
#define LIND_BASE_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

/* The next run of selected pages at or after *h (moved to its start); returns its end, == *h when
 * there is none:  for (size_t h = 0, e; (e = page_run(sel, n, &h)) > h; h = e) ... */
static inline size_t page_run(const uint8_t *sel, size_t n, size_t *h)
{
    while (*h < n && !sel[*h])
        (*h)++;
    size_t e = *h;
    while (e < n && sel[e])
        e++;
    return e;
}

uint8_t *host_pages(const uint8_t *base, uint64_t size, int dirty_only, size_t *n);
int memory_scrub(uint8_t *base, uint64_t size); /* zeroes what was written, keeps pages resident */

#endif
