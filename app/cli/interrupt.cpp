#include "interrupt.h"

#include <atomic>

namespace quantlens::cli {

namespace {

std::atomic<core::ProgressSink*> g_sink {nullptr};

extern "C" void onInterrupt(int)
{
    // ProgressSink::cancel is a lock-free atomic store: safe in a signal handler.
    if (auto* sink = g_sink.load())
        sink->cancel();
    std::signal(SIGINT, SIG_DFL); // a second Ctrl+C ends the process
}

static_assert(std::atomic<core::ProgressSink*>::is_always_lock_free);

} // namespace

InterruptCancels::InterruptCancels(core::ProgressSink& sink)
{
    g_sink.store(&sink);
    struct sigaction action { };
    action.sa_handler = onInterrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &m_previous);
}

InterruptCancels::~InterruptCancels()
{
    sigaction(SIGINT, &m_previous, nullptr);
    g_sink.store(nullptr);
}

} // namespace quantlens::cli
