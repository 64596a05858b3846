#include "progress_bar.h"

#include "core/util/units.h"

#include <unistd.h>

#include <algorithm>
#include <string>

namespace quantlens::cli {

namespace {

constexpr int kBarWidth = 28;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

std::string formatDuration(double seconds)
{
    const auto total = static_cast<long long>(seconds + 0.5);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", total / 60, total % 60);
    return buffer;
}

} // namespace

ProgressBar::ProgressBar(bool enabled)
    : m_active(enabled && ::isatty(STDERR_FILENO) == 1)
    , m_start(std::chrono::steady_clock::now())
{
}

ProgressBar::~ProgressBar()
{
    finish();
}

void ProgressBar::update(const core::Progress& progress)
{
    if (!m_active)
        return;
    const std::lock_guard lock(m_mutex);
    const auto now = std::chrono::steady_clock::now();
    const bool last = progress.total != 0 && progress.done >= progress.total;
    if (m_drawn && !last && now - m_lastDraw < kRedrawInterval)
        return;
    m_lastDraw = now;
    m_drawn = true;

    // Bytes measure the work better than tensors, whose sizes differ by orders of magnitude.
    const double fraction = progress.bytesTotal != 0 ? double(progress.bytesDone) / double(progress.bytesTotal)
        : progress.total != 0                        ? double(progress.done) / double(progress.total)
                                                     : 0.0;
    const int filled = std::clamp(int(fraction * kBarWidth), 0, kBarWidth);
    const double elapsed = std::chrono::duration<double>(now - m_start).count();
    const double rate = elapsed > 0 ? double(progress.bytesDone) / elapsed : 0.0;
    std::string line = "\r[" + std::string(std::size_t(filled), '=') + std::string(std::size_t(kBarWidth - filled), ' ')
        + "] " + std::to_string(int(fraction * 100)) + "% " + std::to_string(progress.done) + "/"
        + std::to_string(progress.total) + " " + progress.unit;
    if (rate > 0) {
        line += ", " + core::formatBinaryBytes(rate, 1) + "/s";
        if (fraction > 0 && fraction < 1)
            line += ", " + formatDuration(elapsed * (1 - fraction) / fraction) + " left";
    }
    if (!progress.current.empty())
        line += "  " + progress.current.substr(0, 40);
    line += "\x1b[K"; // erase the rest of a longer previous line
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

void ProgressBar::finish()
{
    if (!m_active)
        return;
    const std::lock_guard lock(m_mutex);
    if (m_drawn) {
        std::fputs("\r\x1b[K", stderr);
        std::fflush(stderr);
        m_drawn = false;
    }
}

} // namespace quantlens::cli
