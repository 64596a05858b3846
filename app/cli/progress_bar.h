#pragma once

#include "core/util/progress.h"

#include <chrono>
#include <cstdio>
#include <mutex>

namespace quantlens::cli {

// A one-line progress bar on stderr: bar, percent of bytes, tensors done, rate and time left.
// Draws only when stderr is a terminal, so that pipes, logs and tests see nothing; redraws at most
// ten times a second. Safe to call from several threads.
class ProgressBar {
public:
    // `enabled` false forces it off; otherwise it is on when stderr is a terminal.
    explicit ProgressBar(bool enabled = true);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void update(const core::Progress& progress);
    // Clears the line, so that what follows starts on a clean one.
    void finish();
    bool active() const { return m_active; }

private:
    bool m_active = false;
    bool m_drawn = false;
    std::mutex m_mutex;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_lastDraw;
};

} // namespace quantlens::cli
