/* Stand-in for the nginx images critest runs (nginx:1.14-2 and
 * hostnet-nginx): a "master" process whose comm is "nginx" and whose
 * /proc/<pid>/cmdline reads "nginx: master process ...", which writes
 * /var/run/nginx.pid and serves /usr/share/nginx/html over HTTP on the port
 * in /etc/nginx/port (default 80) through a busybox httpd child. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TITLE "nginx: master process nginx -g daemon off;"

static pid_t child;
static void stop(int sig) {
    (void)sig;
    if (child > 0) kill(child, SIGTERM);
    _exit(0);
}

int main(int argc, char **argv) {
    (void)argc;
    if (strcmp(argv[0], TITLE) != 0) {
        /* re-exec under the title nginx gives its master process */
        char *args[] = {TITLE, NULL};
        execv("/usr/sbin/nginx", args);
        perror("execv /usr/sbin/nginx");
        return 1;
    }
    char port[16] = "80";
    FILE *f = fopen("/etc/nginx/port", "r");
    if (f) {
        if (fgets(port, sizeof port, f)) port[strcspn(port, "\n")] = 0;
        fclose(f);
    }
    f = fopen("/var/run/nginx.pid", "w");
    if (!f) { perror("/var/run/nginx.pid"); return 1; }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    signal(SIGQUIT, stop);
    child = fork();
    if (child == 0) {
        char *args[] = {"httpd", "-f", "-p", port, "-h", "/usr/share/nginx/html", NULL};
        execv("/bin/busybox", args);
        perror("execv /bin/busybox");
        _exit(127);
    }
    for (;;) {
        pid_t p = wait(NULL);
        if (p == child) return 1; /* the server died */
        if (p < 0) pause();
    }
}
