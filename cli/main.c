/*
 * fanout-cli: asks a fanout aggregator for a customer's analytics, or any
 * gRPC server for its health, from a shell; what a person would otherwise
 * use grpcurl for. This file holds the usage text and the dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "cli_args.h"
#include "cli_health.h"
#include "cli_query.h"
#include "fo_rpc.h"

static const char usage_text[] = "Usage:\n"
                                 "  fanout-cli query  --addr HOST:PORT --customer ID [options]\n"
                                 "  fanout-cli health --addr HOST:PORT [--service NAME] [options]\n"
                                 "\n"
                                 "query: calls fanout.v1.Aggregator/GetCustomerAnalytics and prints the reply.\n"
                                 "  --customer ID           customer to report on (required)\n"
                                 "  --features a,b,c        features to ask for (default: every configured one)\n"
                                 "  --fail-fast             end the call at the first failed feature (FAIL_FAST)\n"
                                 "  --stream                call StreamCustomerAnalytics instead and print each\n"
                                 "                          feature's result the moment it arrives\n"
                                 "  --window-start UNIX     window start, Unix seconds (with --window-end;\n"
                                 "                          default: the 7 whole UTC days before today)\n"
                                 "  --window-end UNIX       window end, Unix seconds, exclusive\n"
                                 "  --format json|summary   canonical proto3 JSON (default; one object per\n"
                                 "                          line with --stream) or a short table\n"
                                 "\n"
                                 "health: calls grpc.health.v1.Health/Check and prints the status, e.g. SERVING.\n"
                                 "  --service NAME          service to ask about (default: the whole server)\n"
                                 "\n"
                                 "Options of both:\n"
                                 "  --addr HOST:PORT        server address (required)\n"
                                 "  --timeout DURATION      deadline of the call, e.g. 500ms, 2s (default 10s)\n"
                                 "  --metadata KEY=VALUE    request metadata; may be repeated\n"
                                 "  --token JWT             send \"authorization: Bearer JWT\" (default:\n"
                                 "                          $FANOUT_TOKEN when set)\n"
                                 "  --tls-ca PEM            use TLS, trusting the CA certificates in PEM\n"
                                 "  --tls-cert PEM          client certificate for mutual TLS (with --tls-key)\n"
                                 "  --tls-key PEM           the client certificate's private key\n"
                                 "  -h, --help              show this help\n"
                                 "\n"
                                 "Exit status: 0 on success; 1 when the call fails (the status is printed as\n"
                                 "\"ERROR: CODE: message\" on stderr) or health is not SERVING; 2 on a usage error.\n";

static int run(const cli_opts *o)
{
    fo_rpc_init();
    int rc = o->command == CLI_QUERY ? cli_query(o) : cli_health(o);
    fo_rpc_shutdown();
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("a command is required: query or health");
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return CLI_EXIT_OK;
    }
    cli_command command;
    if (!cli_args_command(argv[1], &command))
        return cli_usage_error("unknown command \"%s\" (expected query or health)", argv[1]);

    cli_opts opts;
    int rc = CLI_EXIT_USAGE;
    if (cli_args_parse(command, argc - 1, argv + 1, &opts)) {
        if (opts.help) {
            fputs(usage_text, stdout);
            rc = CLI_EXIT_OK;
        } else {
            rc = run(&opts);
        }
    }
    cli_args_free(&opts);
    return rc;
}
