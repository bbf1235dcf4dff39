/* ga_device_bench - CPU and memory of the monitoring-device judging
 * path alone (parse a type-1 frame, judge it), without MQTT or the
 * store: the upper bound those add to. Figures in docs/devices.md.
 *
 *   ga_device_bench [DEVICES [FRAMES]]     (defaults 102000, 2000000)
 *
 * Writes a registry of DEVICES crack meters (one change_24h rule each,
 * one station each) to a temp file, loads it, builds a judge, then
 * feeds FRAMES frames round-robin, each 10 s of reading time after the
 * device's previous one, the value climbing slowly. Prints the heap the
 * judge holds per device and the CPU time per frame. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device_frame.h"
#include "device_judge.h"

static long rss_kib(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (fp != NULL && fgets(line, sizeof(line), fp))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	if (fp)
		fclose(fp);
	return kib;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long ndev = argc > 1 ? strtol(argv[1], NULL, 10) : 102000;
	long nframes = argc > 2 ? strtol(argv[2], NULL, 10) : 2000000;
	if (ndev <= 0 || ndev > 10000000 || nframes <= 0) {
		fprintf(stderr, "usage: ga_device_bench [DEVICES (1..10^7)] [FRAMES (> 0)]\n");
		return 2;
	}
	char path[] = "/tmp/ga-device-bench-XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct device_registry *reg = NULL;
	struct device_judge *j = NULL;
	struct device_judge_options opt = {.confirm_points = 2, .clear_after_ms = 6 * 3600 * 1000};
	int64_t t0 = INT64_C(1796601600000);
	long changes = 0, bad = 0;

	if (fp == NULL || ndev < 1 || nframes < 1)
		return 2;
	fprintf(fp, "{\"devices\": [\n");
	for (long i = 0; i < ndev; i++)
		fprintf(
		    fp,
		    "%s{\"device_code\": \"D%07ld\", \"station_id\": \"S%07ld\", \"interval_s\": "
		    "10, \"rules\": [{\"channel\": \"L1_LF_1\", \"metric\": \"change_24h\", "
		    "\"blue\": 2, \"yellow\": 5, \"orange\": 10, \"red\": 20}]}\n",
		    i ? "," : "", i, i);
	fprintf(fp, "]}\n");
	fclose(fp);
	if (device_registry_load(path, NULL, &reg, err, sizeof(err)) != GA_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	unlink(path);
	/* heap bytes in use (glibc), not RSS: the judge reuses pages the
	 * registry's parse freed, so RSS barely moves */
	struct mallinfo2 m0 = mallinfo2();
	if (device_judge_new(reg, &opt, &j) != GA_OK)
		return 1;
	struct mallinfo2 m1 = mallinfo2();
	long rss0 = rss_kib();

	double c0 = cpu_s();
	for (long f = 0; f < nframes; f++) {
		long d = f % ndev, round = f / ndev;
		char json[128];
		struct device_frame fr;
		enum device_frame_reason why;
		struct device_judge_change ch[4];
		size_t nch;
		struct device_frame_context ctx = {.now_ms = t0 + round * 10000};
		int n = snprintf(json, sizeof(json), "{\"D%07ld\":{\"L1_LF_1\":%.2f}}", d,
				 100 + 0.01 * round);
		if (device_frame_parse(&ctx, json, (size_t)n, &fr, &why) != GA_OK) {
			bad++;
		} else if (device_judge_feed(j, fr.device_code, fr.points, fr.n_points, ch, 4,
					     &nch) == GA_OK) {
			changes += (long)nch;
		}
		device_frame_cleanup(&fr);
	}
	double cpu = cpu_s() - c0;
	long rss1 = rss_kib();
	double judge_bytes = (double)(m1.uordblks + m1.hblkhd) - (double)(m0.uordblks + m0.hblkhd);
	printf("devices %ld, frames %ld, refused %ld, level changes %ld\n", ndev, nframes, bad,
	       changes);
	printf("judge heap %.1f MiB: %.0f bytes per device (one judged series; a change_24h window "
	       "%zu); RSS +%ld KiB while judging\n",
	       judge_bytes / 1048576, judge_bytes / ndev,
	       device_window_size(DEVICE_WINDOW_KEEP_FIRST), rss1 - rss0);
	printf("parse + judge: %.3f s CPU, %.2f us per frame, %.0f frames/s on one core\n", cpu,
	       cpu * 1e6 / nframes, nframes / cpu);
	device_judge_free(j);
	device_registry_free(reg);
	return 0;
}
