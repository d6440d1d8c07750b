/* rt/capture.h: what the run loop needs of captured output (rt/capture.c).
 * Calls: base/.        Called by: rt/runner. */
#ifndef LIND_RT_CAPTURE_H
#define LIND_RT_CAPTURE_H



struct capture;

int lind_capture_wait(struct capture *cap, int timeout_ms);
void lind_capture_close_cage_ends(struct capture *cap);

#endif
