#pragma once

#include <cstdint>
#include <string>

// The course's teaching table (simple mode): bytes = parameters × bits / 8 per component, with
// activations assumed equal in size to the parameters. For 7e9 parameters: 16-bit setup
// 14 + 14 + 56 + 14 = 98 GB, 4-bit setup 3.5 + 3.5 + 14 + 3.5 = 24.5 GB, a 75% reduction.
namespace quantlens::core {

struct TeachingSetup {
    double weightBits = 16;
    double gradientBits = 16;
    double optimizerBits = 32;
    int optimizerStates = 2;
    double activationBits = 16; // activations assumed to have as many values as the parameters
};

struct TeachingColumn {
    TeachingSetup setup;
    double weightsBytes = 0;
    double gradientsBytes = 0;
    double optimizerBytes = 0;
    double activationsBytes = 0;
    double totalBytes() const { return weightsBytes + gradientsBytes + optimizerBytes + activationsBytes; }
};

struct TeachingTable {
    std::uint64_t parameters = 0;
    TeachingColumn baseline;
    TeachingColumn quantized;
    double reduction = 0; // 1 - quantized / baseline: 0.75 for the course example
    std::string whyRealDiffers; // the sentence shown beside the realistic estimate
};

TeachingSetup teachingBaseline(); // 16 / 16 / 2 × 32 / 16
TeachingSetup teachingQuantized(); // 4 / 4 / 2 × 8 / 4

// UsageError for bits outside (0, 64] or states outside 0..4.
TeachingColumn teachingColumn(std::uint64_t parameters, const TeachingSetup& setup);
TeachingTable teachingTable(std::uint64_t parameters, const TeachingSetup& baseline = teachingBaseline(),
                            const TeachingSetup& quantized = teachingQuantized());

} // namespace quantlens::core
