#include "command.h"

#include "core/util/units.h"
#include "gpu/device.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

namespace quantlens::cli {

namespace {

struct DevicesOptions {
    bool json = false;
};

void runDevices(const DevicesOptions& options)
{
    const bool available = gpu::available();
    const auto list = gpu::devices();
    if (options.json) {
        nlohmann::json out;
        out["built_with_cuda"] = gpu::builtWithCuda();
        out["available"] = available;
        out["reason"] = gpu::unavailableReason();
        out["devices"] = nlohmann::json::array();
        for (const auto& d : list) {
            out["devices"].push_back(
                {{"index", d.index},
                 {"name", d.name},
                 {"memory_bytes", d.memoryBytes},
                 {"compute_capability", std::to_string(d.computeMajor) + "." + std::to_string(d.computeMinor)},
                 {"multiprocessors", d.multiprocessors},
                 {"driver", d.driverVersion},
                 {"runtime", d.runtimeVersion}});
        }
        std::cout << out.dump(2) << "\n";
        return;
    }
    if (!available) {
        std::cout << "GPU: not available: " << gpu::unavailableReason() << "\n"
                  << "Everything else works on the CPU.\n";
        return;
    }
    for (const auto& d : list) {
        std::cout << "GPU " << d.index << ": " << d.name << ", " << core::formatGBAndGiB(double(d.memoryBytes))
                  << ", compute capability " << d.computeMajor << "." << d.computeMinor << ", " << d.multiprocessors
                  << " SMs, driver " << d.driverVersion << ", runtime " << d.runtimeVersion << "\n";
    }
}

} // namespace

void setupDevicesCommand(CLI::App& app)
{
    auto options = std::make_shared<DevicesOptions>();
    auto* sub = app.add_subcommand("devices", "List CUDA devices, or say why none can be used");
    sub->add_flag("--json", options->json, "Machine-readable output");
    sub->callback([options] { runDevices(*options); });
}

} // namespace quantlens::cli
