/* kern/signal.h: signal state: dispositions and their defaults, pending sets and masks, who sent a
 * pending signal, posting (its second half: kern/proc.c posts with the continue of a stopped cage
 * first), and kicking a thread out of a blocking host call.
 * Calls: base/, kern/.        Called by: kern/, sys/, rt/, threei/. */
#ifndef LIND_KERN_SIGNAL_H
#define LIND_KERN_SIGNAL_H

#include <signal.h>
#include <stdint.h>

struct lind_cage;
struct lind_thread;

/* Who sent a pending signal, for its siginfo (si_code and what goes with it: kern/siginfo.c). */
struct sig_origin {
    int32_t code;            /* SI_USER, SI_TKILL, SI_QUEUE, SI_TIMER, CLD_* */
    int32_t pid;             /* sender (CLD_*: the child) */
    uint32_t uid;
    int32_t timerid;         /* SI_TIMER */
    int32_t status;          /* CLD_*: exit code or signal */
    uint32_t value;          /* SI_QUEUE, SI_TIMER: sigval */
};

struct lind_sigaction {
    uint32_t handler;        /* 0 SIG_DFL, 1 SIG_IGN, else a function-table index */
    uint32_t flags;
    uint64_t mask;
};

#define KICK_SIGNAL (SIGRTMIN + 3) /* the host signal that interrupts a thread's blocking host call */
#define L_SIG_DFL 0
#define L_SIG_IGN 1
#define L_SA_SIGINFO 4
#define L_SA_ONSTACK 0x08000000
#define L_SS_ONSTACK 1
#define L_SS_DISABLE 2
#define L_SS_AUTODISARM (1u << 31)
#define L_MINSIGSTKSZ 2048
#define L_SA_RESTART 0x10000000
#define L_SA_NODEFER 0x40000000
#define L_SA_RESETHAND 0x80000000u
#define SIG_BIT(sig) (1ull << ((sig) - 1))
#define SIG_UNBLOCKABLE (SIG_BIT(9) | SIG_BIT(19)) /* SIGKILL, SIGSTOP */
#define L_SI_TIMER (-2)
#define L_SI_TKILL (-6)
#define L_SI_QUEUE (-1)

enum sig_default { DEF_TERM, DEF_IGN, DEF_STOP, DEF_CONT, DEF_CORE };
enum sig_default signal_default_action(int sig);
int signal_ignored(struct lind_cage *cage, int sig);
uint64_t signal_deliverable(struct lind_thread *th);
/* A signal taken off the pending sets, with what came with it. */
struct signal_taken {
    struct lind_sigaction act; /* its disposition as it was taken */
    int has_origin;            /* its sender is known: */
    struct sig_origin origin;
};
int signal_take(struct lind_thread *th, int sig, struct signal_taken *t); /* 0 if another thread took it */
int signal_continue(struct lind_cage *cage);
void signal_post(struct lind_cage *cage, int sig);
int signal_post_origin(struct lind_cage *cage, int tid, int sig, const struct sig_origin *o);
int signal_post_from_locked(struct lind_cage *cage, struct lind_thread *th, int sig, const struct sig_origin *o);
struct lind_thread *thread_by_tid_locked(struct lind_cage *cage, int tid);


void signal_init(void); /* the host side: the kick signal's handler, SIGPIPE ignored */
void thread_post_signal(struct lind_thread *th, int sig); /* thread-directed (cage lock held) */
int cage_has_thread(struct lind_cage *cage, int tid);
int thread_interrupted(struct lind_thread *th);  /* a signal is pending that should end a wait */
int thread_doomed(struct lind_thread *th);       /* SIGKILL is pending or the cage has ended: stop work */
void cage_kick_threads(struct lind_cage *cage, struct lind_thread *except); /* cage lock held */
void thread_kick(struct lind_thread *th);  /* interrupts its blocking host call, if any */
void thread_set_os_thread(struct lind_thread *th, int bound); /* bound: run by the calling OS thread */
void cage_doom(struct lind_cage *cage);    /* ends it as SIGKILL does */

#endif
