/* Stand-in for the Kubernetes pause image used as containerd's sandbox_image
 * by hack/critest.sh: sleeps until SIGINT/SIGTERM and reaps orphans (it is
 * pid 1 of a pod's shared pid namespace). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(void) {
    signal(SIGINT, stop);
    signal(SIGTERM, stop);
    signal(SIGCHLD, reap);
    for (;;) pause();
}
