// The `pvvmm` command. Exceptions (CLI11's) stay in cli/.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/exit_status.hpp"
#include "cli/run_command.hpp"

int main(int argc, char** argv) {
    CLI::App app{"pvvmm: run 64-bit Xen PV guests on Linux KVM, with cheap XPTI", "pvvmm"};
    app.set_version_flag("--version", std::string("pvvmm ") + PVVMM_VERSION);
    app.require_subcommand(1);
    app.footer(pvvmm::cli::kExitStatusHelp);
    pvvmm::cli::RunArgs run_args;
    pvvmm::cli::add_run_command(app, run_args);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::RequiredError& e) {
        fmt::print(stderr, "pvvmm: {}; try 'pvvmm run' or 'pvvmm --help'\n", e.what());
        return pvvmm::cli::kExitBadInput;
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "pvvmm: {}\n", e.what());
        return pvvmm::cli::kExitBadInput;
    }
    if (app.got_subcommand("run"))
        return pvvmm::cli::run_command(run_args);
    return pvvmm::cli::kExitBadInput;
}
