/* ga_geo_mem.c - the memory geo_new costs while loading the regions.
 *
 *   ga_geo_mem [REGIONS.geojson]   (default: the bundled geo/regions.geojson)
 *
 * Prints VmHWM and VmRSS (KiB, from /proc/self/status) before geo_new,
 * after it, and after malloc_trim(0) as the daemon does once its data is
 * loaded. The growth of VmHWM across geo_new is the loader's peak. Build
 * without sanitizers for meaningful numbers. Exits 1 when geo_new fails. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"

#define MEM_LINE_MAX 256

/* The value in KiB of a "Key:  N kB" line of /proc/self/status, or -1. */
static long mem_status(const char *key)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[MEM_LINE_MAX];
	size_t klen = strlen(key);
	long v = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(fp);
	return v;
}

static void mem_print(const char *when)
{
	printf("%-22s VmHWM %7ld KiB  VmRSS %7ld KiB\n", when, mem_status("VmHWM"),
	       mem_status("VmRSS"));
}

int main(int argc, char **argv)
{
	struct geo_options opt = {0};
	char err[512];
	struct geo *g;
	long hwm0, hwm1;

	if (argc > 2) {
		fprintf(stderr, "usage: ga_geo_mem [regions.geojson]\n");
		return 2;
	}
	opt.regions_path = argc == 2 ? argv[1] : NULL;
	mem_print("before geo_new");
	hwm0 = mem_status("VmHWM");
	if ((g = geo_new(&opt, err, sizeof(err))) == NULL) {
		fprintf(stderr, "geo_new: %s\n", err);
		return 1;
	}
	hwm1 = mem_status("VmHWM");
	mem_print("after geo_new");
	malloc_trim(0);
	mem_print("after malloc_trim");
	printf("geo_new raised VmHWM by %ld KiB\n", hwm1 - hwm0);
	geo_free(g);
	return 0;
}
