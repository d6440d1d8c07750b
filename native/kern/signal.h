/* kern/signal.h: signal state: dispositions' defaults, pending sets and masks, posting, and kicking
 * a thread out of a blocking host call. */
#ifndef LIND_KERN_SIGNAL_H
#define LIND_KERN_SIGNAL_H

#include <signal.h>
#include <stdint.h>

struct lind_cage;
struct lind_thread;
struct sig_origin;

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
int signal_take(struct lind_thread *th, int sig); /* off the pending sets; 0 if another thread took it */
int signal_continue(struct lind_cage *cage);
void signal_post(struct lind_cage *cage, int sig);
int signal_post_origin(struct lind_cage *cage, int tid, int sig, const struct sig_origin *o);
int signal_post_from_locked(struct lind_cage *cage, struct lind_thread *th, int sig, const struct sig_origin *o);
struct lind_thread *thread_by_tid_locked(struct lind_cage *cage, int tid);
/* kern/siginfo.c: the siginfo_t (128 bytes) of signal sig as it is taken */
void siginfo_fill(struct lind_cage *cage, int sig, uint8_t *si);

#endif
