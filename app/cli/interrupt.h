#pragma once

#include "core/util/progress.h"

#include <csignal>

namespace quantlens::cli {

// While alive, Ctrl+C (SIGINT) cancels `sink` instead of killing the process, so long work stops
// at its next check and the command exits cleanly ("cancelled", exit 1). A second Ctrl+C kills as
// usual. Only one may be alive at a time.
class InterruptCancels {
public:
    explicit InterruptCancels(core::ProgressSink& sink);
    ~InterruptCancels();
    InterruptCancels(const InterruptCancels&) = delete;
    InterruptCancels& operator=(const InterruptCancels&) = delete;

private:
    struct sigaction m_previous { };
};

} // namespace quantlens::cli
