/* membw.c -- this machine's memory read bandwidth for bench/vectors.py: the
 * best of five passes summing a 1 GiB float array (far past any cache), in
 * GB/s. Built by the script with -O2 -march=native, so the sum is
 * vectorised as the exact scan's loops are. Prints "<GB/s>". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N ((size_t)1 << 28) /* floats: 1 GiB */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    float *a = malloc(N * sizeof(*a));
    if (!a)
        return 1;
    for (size_t i = 0; i < N; i++)
        a[i] = (float)(i & 1023) * 0.001f;
    double best = 0, total = 0;
    for (int pass = 0; pass < 5; pass++) {
        float s[16] = {0};
        double t = now();
        for (size_t i = 0; i < N; i += 16)
            for (int k = 0; k < 16; k++)
                s[k] += a[i + k];
        double dt = now() - t;
        for (int k = 0; k < 16; k++)
            total += s[k];
        double gbs = (double)(N * sizeof(*a)) / 1e9 / dt;
        best = gbs > best ? gbs : best;
    }
    printf("%.2f %g\n", best, total); /* the sum keeps the loop from being dropped */
    free(a);
    return 0;
}
