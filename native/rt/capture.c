/* Captured output and fed input of cages started by `lind batch` and the embedding API: each job
 * gets pipes whose other ends one C thread services with epoll, reading stdout and stderr into
 * buffers (up to a cap; the rest is read and dropped, so a chatty cage never blocks) and writing
 * the stdin bytes. Neither Python nor a thread per job is involved.
 *
 * A job's pipes are handed to the hub only after REGISTER_DELAY_NS: a short job has ended by then
 * and its caller drains the pipes itself (lind_capture_wait), without waking the hub thread for
 * each write (those wake-ups cost a short job a fifth of its time). A job that writes more than a
 * pipe holds waits at most that long for the hub.
 * Calls:  base/ (util).  Called by: rt/ (runner), Python. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define REGISTER_DELAY_NS 1000000

#include "base/util.h"
#include "rt/capture.h"

struct capture;

struct cap_stream {
    struct capture *cap;
    int fd;       /* our end: write end of stdin, read end of stdout/stderr; -1 once closed */
    int which;    /* 0 stdin, 1 stdout, 2 stderr */
};

struct capture {
    struct cap_stream s[3];
    uint8_t *buf[3];            /* [1], [2]: what was read */
    size_t len[3];
    size_t max_output;
    int truncated;
    uint8_t *in;                /* stdin bytes not yet written */
    size_t in_len, in_pos;
    int open;                   /* streams not yet closed */
    int abandoned;              /* freed by Python while open: buried when they close */
    pthread_cond_t done;
    struct capture *next_dead;
    int64_t born_ns;            /* CLOCK_MONOTONIC at creation */
    int registered;             /* its open streams are in the hub's epoll set */
    struct capture *next_new, *prev_new; /* the list of not yet registered captures */
    int cage_end[3];            /* the ends for the cage, until lind_capture_close_cage_ends */
    int to_sink[3];             /* [1], [2]: the stream goes to the sink, not a buffer */
    int64_t closed_ns;          /* CLOCK_MONOTONIC when the last stream closed */
};

/* Python's receiver of streamed output (the API's stdout/stderr callbacks). Called without the
 * hub's lock: it takes Python's lock, which a Python thread may hold while it waits for ours. */
typedef void (*capture_sink_fn)(struct capture *cap, int which, const char *data, size_t len);
static _Atomic(capture_sink_fn) sink; /* (set by Python at any time, read by the hub) */

void lind_capture_set_sink(capture_sink_fn fn) { sink = fn; }

static pthread_mutex_t hub_lock = PTHREAD_MUTEX_INITIALIZER;
static int hub_epoll = -1;
/* Captures done with. The hub thread frees them after the events it is handling, which may still
 * point at them (a caller can drain and close a capture between epoll_wait and the hub's lock). */
static struct capture *graveyard;
static struct capture *new_head, *new_tail;


static void unlink_new(struct capture *cap)
{
    if (cap->prev_new)
        cap->prev_new->next_new = cap->next_new;
    else if (new_head == cap)
        new_head = cap->next_new;
    if (cap->next_new)
        cap->next_new->prev_new = cap->prev_new;
    else if (new_tail == cap)
        new_tail = cap->prev_new;
    cap->next_new = cap->prev_new = NULL;
}

/* Hands the capture's open streams to the hub's epoll set. */
static void capture_register(struct capture *cap)
{
    if (cap->registered)
        return;
    unlink_new(cap);
    cap->registered = 1;
    for (int i = 0; i < 3; i++) {
        struct cap_stream *st = &cap->s[i];
        if (st->fd < 0)
            continue;
        struct epoll_event ev = {.events = i == 0 ? EPOLLOUT : EPOLLIN, .data.ptr = st};
        epoll_ctl(hub_epoll, EPOLL_CTL_ADD, st->fd, &ev);
    }
}

static void bury(struct capture *cap)
{
    cap->next_dead = graveyard;
    graveyard = cap;
}

static void capture_destroy(struct capture *cap)
{
    free(cap->buf[1]);
    free(cap->buf[2]);
    free(cap->in);
    pthread_cond_destroy(&cap->done);
    free(cap);
}

static void free_graveyard(void)
{
    while (graveyard) {
        struct capture *cap = graveyard;
        graveyard = cap->next_dead;
        capture_destroy(cap);
    }
}

static void stream_close(struct cap_stream *st)
{
    struct capture *cap = st->cap;
    if (cap->registered)
        epoll_ctl(hub_epoll, EPOLL_CTL_DEL, st->fd, NULL);
    close(st->fd);
    st->fd = -1;
    if (--cap->open == 0) {
        cap->closed_ns = monotonic_ns();
        if (cap->abandoned)
            bury(cap);
        else
            pthread_cond_broadcast(&cap->done);
    }
}

/* Hands a chunk to the sink, with the hub's lock released meanwhile (held on entry and exit).
 * The capture itself stays valid: only the hub thread frees captures, after its events. */
static void give_to_sink(struct capture *cap, int which, const char *data, size_t len)
{
    char *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, data, len);
    pthread_mutex_unlock(&hub_lock);
    sink(cap, which, copy, len);
    free(copy);
    pthread_mutex_lock(&hub_lock);
}

static void stream_read(struct cap_stream *st)
{
    struct capture *cap = st->cap;
    static char chunk[65536]; /* (used under the hub's lock; the hub thread's stack is small) */
    while (st->fd >= 0) {     /* (a sink call lets another thread close it meanwhile) */
        ssize_t n = read(st->fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            stream_close(st);
            return;
        }
        size_t room = cap->max_output - cap->len[st->which], take = (size_t)n < room ? (size_t)n : room;
        if (take < (size_t)n)
            cap->truncated = 1;
        if (take && cap->to_sink[st->which]) {
            cap->len[st->which] += take;
            if (sink && !cap->abandoned)
                give_to_sink(cap, st->which, chunk, take);
        } else if (take) {
            uint8_t *b = realloc(cap->buf[st->which], cap->len[st->which] + take);
            if (!b) {
                cap->truncated = 1;
                continue;
            }
            memcpy(b + cap->len[st->which], chunk, take);
            cap->buf[st->which] = b;
            cap->len[st->which] += take;
        }
    }
}

static void stream_write(struct cap_stream *st)
{
    struct capture *cap = st->cap;
    while (cap->in_pos < cap->in_len) {
        ssize_t n = write(st->fd, cap->in + cap->in_pos, cap->in_len - cap->in_pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0)
            break; /* EPIPE: the cage closed its stdin */
        cap->in_pos += (size_t)n;
    }
    stream_close(st);
}

/* Moves what can be moved now on one of our pipe ends (under the hub's lock). */
static void stream_service(struct cap_stream *st)
{
    if (st->which == 0)
        stream_write(st);
    else
        stream_read(st);
}

static void *hub_main(void *unused)
{
    (void)unused;
    struct epoll_event ev[64];
    int timeout = 100;
    for (;;) {
        /* (a timeout even when idle: the graveyard is emptied) */
        int n = epoll_wait(hub_epoll, ev, 64, timeout);
        pthread_mutex_lock(&hub_lock);
        int64_t due = monotonic_ns() - REGISTER_DELAY_NS;
        while (new_head && new_head->born_ns <= due)
            capture_register(new_head);
        for (int i = 0; i < n; i++) {
            struct cap_stream *st = ev[i].data.ptr;
            if (st->fd >= 0)
                stream_service(st);
        }
        free_graveyard();
        timeout = new_head ? 1 : 100; /* (captures waiting to be registered: soon) */
        pthread_mutex_unlock(&hub_lock);
    }
    return NULL;
}

static int hub_start(void)
{
    pthread_mutex_lock(&hub_lock);
    if (hub_epoll < 0) {
        hub_epoll = epoll_create1(EPOLL_CLOEXEC);
        if (hub_epoll >= 0)
            start_service_thread(hub_main, 0);
    }
    pthread_mutex_unlock(&hub_lock);
    return hub_epoll < 0 ? -errno : 0;
}

static void stream_add(struct capture *cap, int which, int fd)
{
    struct cap_stream *st = &cap->s[which];
    st->cap = cap;
    st->fd = fd;
    st->which = which;
    cap->open++;
}

#define CAP_STDIN 1       /* feed stdin_data through a pipe (else the cage's stdin is /dev/null) */
#define CAP_STDOUT 2      /* capture stdout (else cage_fds[1] is -1: the caller gives its own) */
#define CAP_STDERR 4
#define CAP_STDOUT_SINK 8 /* stream stdout to the sink instead of keeping it */
#define CAP_STDERR_SINK 16

/* Python: pipes for a job, as flags says. cage_fds[0..2] get the ends the cage is given;
 * lind_capture_close_cage_ends closes them once the cage has its own copies. NULL on failure. */
struct capture *lind_capture_new(size_t max_output, const uint8_t *stdin_data, size_t stdin_len, int flags,
                                 int *cage_fds)
{
    int has_stdin = flags & CAP_STDIN;
    if (hub_start() < 0)
        return NULL;
    struct capture *cap = calloc(1, sizeof *cap);
    if (!cap)
        return NULL;
    cap->max_output = max_output;
    for (int i = 0; i < 3; i++)
        cap->s[i].fd = -1;
    pthread_cond_init(&cap->done, NULL);
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    if (has_stdin) {
        if (pipe2(p[0], O_CLOEXEC) < 0)
            goto fail;
    } else if ((p[0][0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        goto fail;
    }
    if (((flags & CAP_STDOUT) && pipe2(p[1], O_CLOEXEC) < 0) || ((flags & CAP_STDERR) && pipe2(p[2], O_CLOEXEC) < 0))
        goto fail;
    cap->to_sink[1] = !!(flags & CAP_STDOUT_SINK);
    cap->to_sink[2] = !!(flags & CAP_STDERR_SINK);
    if (has_stdin && stdin_len) {
        cap->in = malloc(stdin_len);
        if (!cap->in)
            goto fail;
        memcpy(cap->in, stdin_data, stdin_len);
        cap->in_len = stdin_len;
    }
    for (int i = 0; i < 3; i++) {
        int ours = i == 0 ? p[0][1] : p[i][0];
        if (ours >= 0)
            fcntl(ours, F_SETFL, O_NONBLOCK);
    }
    if (has_stdin)
        stream_add(cap, 0, p[0][1]);
    for (int i = 1; i < 3; i++)
        if (p[i][0] >= 0)
            stream_add(cap, i, p[i][0]);
    cap->born_ns = monotonic_ns();
    if (!cap->open)
        cap->closed_ns = cap->born_ns;
    pthread_mutex_lock(&hub_lock);
    cap->prev_new = new_tail;
    if (new_tail)
        new_tail->next_new = cap;
    else
        new_head = cap;
    new_tail = cap;
    if (has_stdin)
        stream_write(&cap->s[0]); /* what fits in the pipe now; the hub writes the rest */
    pthread_mutex_unlock(&hub_lock);
    for (int i = 0; i < 3; i++)
        cage_fds[i] = cap->cage_end[i] = p[i][i == 0 ? 0 : 1];
    return cap;
fail:
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            if (p[i][j] >= 0)
                close(p[i][j]);
    capture_destroy(cap);
    return NULL;
}

/* Python: the cage holds its own copies of its ends (or failed to start): ours go, so that the
 * streams end when the cages do. */
void lind_capture_close_cage_ends(struct capture *cap)
{
    for (int i = 0; i < 3; i++)
        if (cap->cage_end[i] >= 0) {
            close(cap->cage_end[i]);
            cap->cage_end[i] = -1;
        }
}

/* Python: waits until every stream is closed (the cages holding the pipes have ended or closed
 * them, stdin is written); timeout_ms < 0 waits for ever. 1 done, 0 timed out. */
int lind_capture_wait(struct capture *cap, int timeout_ms)
{
    pthread_mutex_lock(&hub_lock);
    /* usually the cage has just ended and closed its ends: drain here rather than wait for the
     * hub thread to wake up and do it. Not a stream that goes to the sink: only the hub reads
     * those, so that chunks reach the sink in order and all of them before the stream closes. */
    for (int i = 0; i < 3; i++)
        if (cap->s[i].fd >= 0 && !cap->to_sink[i])
            stream_service(&cap->s[i]);
    struct timespec ts, *until = NULL;
    if (timeout_ms >= 0)
        deadline_after_ms(until = &ts, timeout_ms);
    int r = 0;
    while (cap->open > 0 && r == 0)
        r = cond_wait_until(&cap->done, &hub_lock, until);
    int done = cap->open == 0;
    pthread_mutex_unlock(&hub_lock);
    return done;
}

/* Python: copies what was read so far from stdout (1) or stderr (2) into buf if it holds it all;
 * returns its length either way. */
size_t lind_capture_copy(struct capture *cap, int which, uint8_t *buf, size_t size)
{
    pthread_mutex_lock(&hub_lock);
    size_t n = cap->to_sink[which] ? 0 : cap->len[which];
    if (buf && n <= size && n)
        memcpy(buf, cap->buf[which], n);
    pthread_mutex_unlock(&hub_lock);
    return n;
}

/* Python: CLOCK_MONOTONIC ns when its last stream closed (0: not yet). */
int64_t lind_capture_closed_ns(struct capture *cap)
{
    pthread_mutex_lock(&hub_lock);
    int64_t t = cap->open ? 0 : cap->closed_ns;
    pthread_mutex_unlock(&hub_lock);
    return t;
}

int lind_capture_truncated(const struct capture *cap) { return cap->truncated; }

/* Python: done with the job. Streams still open (a cage keeps the pipe) keep being drained and the
 * capture goes when they close. */
void lind_capture_free(struct capture *cap)
{
    if (!cap)
        return;
    lind_capture_close_cage_ends(cap);
    pthread_mutex_lock(&hub_lock);
    if (cap->open) {
        capture_register(cap); /* someone must drain what is left */
        cap->abandoned = 1;
        free(cap->buf[1]);
        free(cap->buf[2]);
        cap->buf[1] = cap->buf[2] = NULL;
        cap->len[1] = cap->len[2] = 0;
        cap->max_output = 0;
    } else {
        unlink_new(cap);
        bury(cap);
    }
    pthread_mutex_unlock(&hub_lock);
}
