#pragma once

#include <string>
#include <vector>

// The instruction sets the hot loops are built for (core/simd/kernels.h), chosen once at start-up
// from the CPU's features. Every path gives the same bits: the scalar references and the golden
// vectors decide, and the tests run each path this CPU has, not only the one it picks.
namespace quantlens::core {

enum class InstructionSet {
    Baseline, // x86-64 (SSE2), or whatever the compiler targets elsewhere
    Avx2, // AVX2 + FMA + F16C (Haswell, Zen 1 and later)
    Avx512, // AVX-512 F/BW/DQ/VL (Skylake-X, Ice Lake, Zen 4 and later)
};

const char* instructionSetName(InstructionSet set);
// "baseline", "avx2", "avx512" -> the set; throws UsageError naming the choices otherwise.
InstructionSet parseInstructionSet(const std::string& name);

// The best set this CPU and its OS (saved vector state) support, in this build.
InstructionSet detectedInstructionSet();
// Every set this CPU supports, baseline first.
std::vector<InstructionSet> supportedInstructionSets();
// The set the kernels run on: the detected one, or a lower one chosen with setInstructionSet() or
// the QUANTLENS_ISA environment variable (read once, at the first call).
InstructionSet activeInstructionSet();
// Throws UnsupportedError for a set this CPU lacks. Not for use while kernels run on other threads.
void setInstructionSet(InstructionSet set);

// Runs a scope on another set and restores the previous one (tests, benchmarks).
class ScopedInstructionSet {
public:
    explicit ScopedInstructionSet(InstructionSet set);
    ~ScopedInstructionSet();
    ScopedInstructionSet(const ScopedInstructionSet&) = delete;
    ScopedInstructionSet& operator=(const ScopedInstructionSet&) = delete;

private:
    InstructionSet m_previous;
};

} // namespace quantlens::core
