/* main.c - command dispatch. */
#include <curl/curl.h>
#include <mosquitto.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "service.h"

/* The usage on out: stdout and 0 when asked for (help), else stderr and 2. */
static int usage(FILE *out)
{
	fprintf(out,
		"usage: geoalert COMMAND [ARGS]\n"
		"  serve -c FILE                      run the service\n"
		"  check-config -c FILE               validate a configuration\n"
		"  classify [-c FILE] [FILE|-]        validate and classify one report\n"
		"  locate [-c FILE] --crs EPSG:n X Y  transform and place a point\n"
		"  officer add NAME --role duty_officer|supervisor|admin -c FILE\n"
		"      [--password-file FILE]         create an officer; print the API token once\n"
		"  officer disable|enable NAME -c FILE\n"
		"                                     take an officer out of service, or back\n"
		"  officer token NAME -c FILE         give a new API token; print it once\n"
		"  audit verify -c FILE [--anchor SEQ:HASH]\n"
		"                                     check the audit trail's hash chain\n"
		"  report timeliness --since DATE [--format csv|json] -c FILE\n"
		"                                     how timely each incident was disclosed\n"
		"  backup PATH -c FILE                copy the database online to PATH\n"
		"  store copy --from FILE.db --to URL [--password-file FILE]\n"
		"                                     copy a SQLite deployment into an empty\n"
		"                                     PostgreSQL database (serve stopped; an\n"
		"                                     older FILE.db is migrated first)\n"
		"  keys check -c FILE                 compare the key files' ids with the ones\n"
		"                                     the database records\n"
		"  keys adopt -c FILE                 record the key files as the deployment's\n"
		"                                     signing keys (serve stopped)\n"
		"  verify FILE [-c FILE | --key PUBKEYFILE]\n"
		"                                     check a saved alert's signature\n"
		"  version                            print the version\n"
		"  help                               print this\n");
	return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	const char *cmd = argv[1];
	argc--;
	argv++;

	if (strcmp(cmd, "serve") == 0) {
		/* Library set-up once, before any thread starts. */
		mosquitto_lib_init();
		curl_global_init(CURL_GLOBAL_DEFAULT);
		int rc = service_serve(argc, argv);
		curl_global_cleanup();
		mosquitto_lib_cleanup();
		return rc;
	}
	if (strcmp(cmd, "check-config") == 0)
		return service_check_config(argc, argv);
	if (strcmp(cmd, "classify") == 0)
		return cmd_classify(argc, argv);
	if (strcmp(cmd, "locate") == 0)
		return cmd_locate(argc, argv);
	if (strcmp(cmd, "officer") == 0)
		return cmd_officer(argc, argv);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(argc, argv);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc, argv);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc, argv);
	if (strcmp(cmd, "backup") == 0)
		return cmd_backup(argc, argv);
	if (strcmp(cmd, "store") == 0)
		return cmd_store(argc, argv);
	if (strcmp(cmd, "keys") == 0)
		return cmd_keys(argc, argv);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("geoalert %s\n", GA_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return usage(stdout);
	return usage(stderr);
}
