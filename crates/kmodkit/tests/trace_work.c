/* A deterministic workload for kmodkit trace vs bpftrace: N rounds; round i does i reads of
 * i*100 bytes from /dev/zero, i writes of 1<<i bytes to /dev/null and i calls of
 * work_add(i, j); every count is distinct, so map ordering has no ties. An optional second
 * argument is a delay in milliseconds before the first round (for tracers attached by -p), an
 * optional third one a delay before exiting. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((noinline)) long work_add(long a, long b) { __asm__ volatile(""); return a + b; }
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5;
    if (argc > 2)
        usleep(atoi(argv[2]) * 1000);
    static char buf[1 << 16];
    int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
    long t = 0;
    for (int i = 1; i <= n; i++)
        for (int j = 0; j < i; j++) {
            if (read(in, buf, i * 100) < 0 || write(out, buf, 1u << i) < 0) return 2;
            t += work_add(i, j);
        }
    close(in);
    close(out);
    if (argc > 3) /* stay alive a while, e.g. for the tracer to read our maps */
        usleep(atoi(argv[3]) * 1000);
    return t > 0 ? 0 : 1;
}
