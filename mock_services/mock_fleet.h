/*
 * mock_fleet: runs a whole fleet of mock feature services, one child process
 * per entry of the fleet file, and supervises them.
 *
 * Each child is this same binary run with --feature NAME --listen ADDR
 * --profile JSON. Once every child is listening the fleet prints one line,
 *
 *     {"event":"fleet","features":{"listings":{"address":"127.0.0.1:41234","pid":1234},...}}
 *
 * then forwards the children's later log lines unchanged and adds its own
 * events: child_exited, restarted (on the address the child first bound),
 * restart_failed, and fleet_stopped after SIGTERM, SIGINT or SIGHUP.
 * Children die with the fleet, even when it is killed with SIGKILL.
 */
#ifndef MOCK_FLEET_H
#define MOCK_FLEET_H

/*
 * Runs the fleet in fleet_path until a termination signal; returns the exit
 * code: 0 after a clean stop, 1 when a child fails to start, 2 when the fleet
 * file is bad. argv0 is the fallback for re-executing ourselves when
 * /proc/self/exe is unavailable. admin_listen (NULL: none) goes to every
 * child as --admin-listen (port 0: each picks its own), and each feature of
 * the fleet line, and a restarted line, then has the child's "admin_port".
 * The caller must have called
 * fo_signals_block() and must not have started any thread.
 */
int mock_fleet_run(const char *fleet_path, const char *argv0, const char *admin_listen);

#endif
