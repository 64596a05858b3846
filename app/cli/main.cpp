#include "command.h"

#include "core/util/error.h"
#include "core/util/version.h"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

} // namespace

int main(int argc, char** argv)
{
    using namespace quantlens;
    CLI::App app {"QuantLens: will this finetune fit on my GPU, what does quantization do to this model, and how fast "
                  "is it.",
                  "quantlens-cli"};
    app.set_version_flag("--version", std::string("quantlens-cli ") + kVersion);
    app.require_subcommand(0, 1);
    app.footer("Run 'quantlens-cli COMMAND --help' for a command's options.");

    cli::setupDevicesCommand(app);
    cli::setupPlanCommand(app);
    cli::setupInfoCommand(app);
    cli::setupInspectCommand(app);
    cli::setupQuantizeCommand(app);
    cli::setupBenchCommand(app);
    cli::setupEvalCommand(app);
    cli::setupAdviseCommand(app);
#ifdef QUANTLENS_HAVE_UI
    cli::setupReportCommand(app);
#endif

    try {
        app.parse(argc, argv);
        if (app.get_subcommands().empty()) {
            std::cerr << app.help() << "\nerror: a command is required\n";
            return kExitUsage;
        }
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    } catch (const UsageError& e) {
        std::cerr << "error: " << e.what() << "\n";
        return kExitUsage;
    } catch (const CancelledError&) {
        std::cerr << "cancelled\n";
        return kExitFailure;
    } catch (const Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "error: unexpected failure: " << e.what() << "\n";
        return kExitFailure;
    }
    return 0;
}
