/* cmd.h - the subcommands of the geoalert binary (spec §7). Each takes
 * the arguments after "geoalert" (argv[0] is the command name) and returns
 * the process exit status. */
#ifndef GA_CMD_H
#define GA_CMD_H

int cmd_classify(int argc, char **argv);
int cmd_locate(int argc, char **argv);
int cmd_officer(int argc, char **argv); /* officer add (cmd_officer.c) */
int cmd_audit(int argc, char **argv);	/* audit verify (cmd_audit.c) */
int cmd_verify(int argc, char **argv);	/* verify FILE: an alert's signature (cmd_verify.c) */
int cmd_report(int argc, char **argv);	/* report timeliness (cmd_report.c) */
int cmd_backup(int argc, char **argv);	/* backup PATH -c FILE (cmd_backup.c) */
int cmd_store(int argc, char **argv);	/* store copy --from FILE.db --to URL (cmd_store.c) */
int cmd_keys(int argc, char **argv);	/* keys check|adopt -c FILE (cmd_keys.c) */

#endif
