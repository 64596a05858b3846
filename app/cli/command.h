#pragma once

#include <CLI/CLI.hpp>

// Each subcommand lives in its own file and exposes one setup function that adds itself to the
// app (options struct + callback), in the shape of CLI11's examples/subcom_in_files. A callback
// reports failure by throwing: quantlens::UsageError exits 2, any other quantlens::Error exits 1.
namespace quantlens::cli {

void setupDevicesCommand(CLI::App& app);
void setupPlanCommand(CLI::App& app);
void setupInfoCommand(CLI::App& app);
void setupInspectCommand(CLI::App& app);
void setupQuantizeCommand(CLI::App& app);
void setupBenchCommand(CLI::App& app);
void setupEvalCommand(CLI::App& app);
void setupAdviseCommand(CLI::App& app);
#ifdef QUANTLENS_HAVE_UI
void setupReportCommand(CLI::App& app);
#endif

} // namespace quantlens::cli
