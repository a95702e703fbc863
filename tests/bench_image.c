/* bench_image: what each decode bomb of image_bombs costs the picture path (decode, centre square, resize
 * to 224: what nn_classify_image does before the network), each in a fresh child process so its peak
 * resident set is its own: wall time, and VmHWM minus VmRSS before (peak reset through clear_refs).
 *   bench_image             one row per bomb
 *   bench_image --seeds DIR writes the bombs of at most 64 KiB, and small ones of each kind, to DIR
 *                           instead (the image fuzz target's seeds; it runs with -max_len=65536) */
#define _GNU_SOURCE
#include "nn/image/image.h"
#include "tests/image_bombs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct bomb {
    const char *name;
    struct ib_buf bytes;
};

static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':')
            kb = atol(line + n + 1);
    if (f)
        fclose(f);
    return kb;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* In a child: the picture path on one bomb, one line of results. */
static void measure(const struct bomb *b)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) { /* "5" resets the peak resident set to the current one */
        fputs("5", f);
        fclose(f);
    }
    long rss0 = status_kb("VmRSS");
    char err[256] = "";
    struct img pic, input;
    int orientation, x0, y0, side;
    double t0 = now_ms();
    int rc = img_decode_stored(b->bytes.p, b->bytes.len, &pic, &orientation, err, sizeof err);
    if (rc == 0) {
        img_center_square_oriented(pic.w, pic.h, orientation, &x0, &y0, &side);
        rc = img_resize_rect(&pic, x0, y0, side, side, 224, 224, &input);
        img_free(&input);
        img_free(&pic);
        snprintf(err, sizeof err, "decoded");
    }
    double ms = now_ms() - t0;
    long added = status_kb("VmHWM") - rss0;
    printf("| %s | %zu | %.0f ms | %.1f MB | %d: %s |\n", b->name, b->bytes.len, ms, added / 1024.0, rc, err);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *seeds = argc == 3 && !strcmp(argv[1], "--seeds") ? argv[2] : NULL;
    if (argc != 1 && !seeds) {
        fprintf(stderr, "usage: bench_image [--seeds DIR]\n");
        return 2;
    }
    struct bomb bombs[] = {
        {"progressive JPEG 4000x4000, 500 refinement scans", ib_jpeg_refinement_bomb(4000, 4000, 500)},
        {"progressive JPEG 2048x2048, 500 refinement scans", ib_jpeg_refinement_bomb(2048, 2048, 500)},
        {"progressive JPEG 2048x2048, 100 refinement scans", ib_jpeg_refinement_bomb(2048, 2048, 100)},
        {"progressive JPEG 1024x1024, 2000 refinement scans", ib_jpeg_refinement_bomb(1024, 1024, 2000)},
        {"progressive JPEG 2048x2048, 95 refinement scans (the most allowed)", ib_jpeg_refinement_bomb(2048, 2048, 95)},
        {"baseline JPEG 1448x1448, 100 full scans", ib_jpeg_repeated_scans(1448, 1448, 100)},
        {"baseline JPEG 2048x2048, 47 full scans (the most allowed)", ib_jpeg_repeated_scans(2048, 2048, 47)},
        {"PNG 6000x6000 RGB of zeros", ib_png_zeros(6000, 6000, 8, 2, 0)},
        {"PNG 4000x4000 RGB 16-bit of zeros", ib_png_zeros(4000, 4000, 16, 2, 0)},
        {"PNG 1x1 whose IDAT inflates to 100 MB", ib_png_zeros(1, 1, 8, 0, 100u << 20)},
        {"PNG 2800x2800 RGB of zeros (allowed)", ib_png_zeros(2800, 2800, 8, 2, 0)},
        {"GIF 1x1 frame on a 6000x6000 screen", ib_gif_canvas(6000, 6000)},
        {"PSD 6000x6000 header only", ib_psd(6000, 6000, 3, 8, 0, 0)},
        {"PSD 256x256 cut inside its pixels", ib_psd(256, 256, 3, 8, 0, 1000)},
        {"JPEG baseline 4000x3000, no scan", ib_jpeg_scanless(4000, 3000, 0)},
        {"JPEG progressive 4000x3000, no scan", ib_jpeg_scanless(4000, 3000, 1)},
        {"JPEG progressive 640x480, no scan", ib_jpeg_scanless(640, 480, 1)},
    };
    size_t n = sizeof bombs / sizeof bombs[0];
    if (seeds) {
        struct bomb small[] = {
            {"png zlib", ib_png_zeros(1, 1, 8, 0, 4u << 20)}, {"png 16", ib_png_zeros(64, 64, 16, 2, 0)},
            {"png grey", ib_png_zeros(2000, 2000, 8, 0, 0)}, {"psd rle", ib_psd(64, 64, 3, 8, 1, 400)},
            {"psd raw", ib_psd(16, 16, 4, 8, 0, 1024)}, {"refine", ib_jpeg_refinement_bomb(64, 64, 20)},
            {"baseline", ib_jpeg_repeated_scans(64, 64, 3)}, {"gif", ib_gif_canvas(64, 64)},
        };
        for (size_t i = 0; i < n + sizeof small / sizeof small[0]; i++) {
            struct bomb *b = i < n ? &bombs[i] : &small[i - n];
            if (b->bytes.len > 65536)
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/bomb-%02zu", seeds, i);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(b->bytes.p, 1, b->bytes.len, f) != b->bytes.len || fclose(f) != 0) {
                perror(path);
                return 1;
            }
        }
        return 0;
    }
    printf("| bomb | bytes | time | peak RSS added | result |\n| --- | --- | --- | --- | --- |\n");
    fflush(stdout);
    for (size_t i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            measure(&bombs[i]);
            _exit(0);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
            printf("| %s | %zu | child failed | | |\n", bombs[i].name, bombs[i].bytes.len);
    }
    for (size_t i = 0; i < n; i++)
        free(bombs[i].bytes.p);
    return 0;
}
