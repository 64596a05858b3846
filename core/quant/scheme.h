#pragma once

#include "core/quant/bnb_4bit.h"
#include "core/quant/teaching.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

// One interface over every quantization scheme (bitsandbytes, teaching, integer, FP8, 16-bit, and
// ggml's block formats), for the whole-model scan and the Quantization Lab. A scheme quantizes
// then dequantizes chunks of a tensor ("round trip"); the scan measures the error.
namespace quantlens::core {

// Whole-tensor statistics a scheme gathers in a first pass (the per-tensor absmax of FP8 and the
// per-tensor teaching schemes, the sum and count of block absmax behind the double-quantization
// offset): a few numbers per chunk, merged by the scheme, in any order.
using SchemeStatistics = std::vector<double>;

struct SchemeOptions {
    std::optional<std::uint32_t> blocksize; // default per scheme: 64 for 4-bit, 4096 for dyn8, 64 for per-block
    bool doubleQuant = false; // bitsandbytes NF4/FP4
    Granularity granularity = Granularity::Tensor; // teaching and integer schemes
};

struct Calibration; // core/quant/calibration.h
struct AwqTransform; // core/quant/awq.h
struct AwqOptions;

// Where a chunk sits in its tensor, and what the first pass gathered.
struct RoundTripContext {
    std::span<const std::uint64_t> shape; // the tensor's shape, outermost first
    std::uint64_t first = 0; // index of the chunk's first element in the flat tensor
    const SchemeStatistics* statistics = nullptr; // merged chunkStatistics; null when not needed
    const Calibration* calibration = nullptr; // this tensor's, for schemes that needCalibration()
    const AwqTransform* awq = nullptr; // AWQ's searched scales and clipping of this tensor, for awq*
};

// What the Quantization Lab draws for one block (or row, or tensor, by granularity): the values
// the scheme can represent there and one block's values before and after.
struct BlockView {
    std::uint64_t first = 0; // the block's first element in the tensor
    float scale = 0.0f; // absmax or scale of the block (fp32, as stored)
    std::vector<float> levels; // representable values in this block, ascending; empty for FP8/16-bit
    std::string levelsNote; // what `levels` shows, e.g. "NF4 levels x block absmax"
    std::vector<float> original;
    std::vector<float> dequantized;
    std::vector<std::uint32_t> codes; // stored code of each value (index into the unscaled levels)
};

// What a bitsandbytes 4-bit scheme quantizes a tensor with, for a device that runs the same
// quantizer (gpu/): its options and, with double quantization, the offset (the mean block absmax)
// this tensor's statistics give.
struct FourBitParameters {
    Bnb4BitOptions options;
    float doubleQuantOffset = 0.0f;
};

class Scheme {
public:
    virtual ~Scheme() = default;

    // Short name as the user types it ("nf4", "nf4-dq", "int8", "q4_0") and a readable one.
    virtual std::string id() const = 0;
    virtual std::string displayName() const = 0;

    // Storage cost of a tensor of this shape, scales and per-tensor metadata included.
    virtual double bitsPerParameter(std::span<const std::uint64_t> shape) const = 0;
    // Why this scheme cannot store a tensor of this shape, in one sentence; empty when it can.
    // ggml's block formats need rows of a whole number of blocks (a GGUF file cannot hold anything
    // else), so they refuse rows of 172 rather than measure blocks that straddle two rows. The scan
    // lists such a tensor as skipped for that scheme; roundTrip() throws UsageError with the reason.
    virtual std::string cannotStore(std::span<const std::uint64_t> /*shape*/) const { return {}; }
    // Chunks handed to roundTrip() start at multiples of this (a block, a group of blocks that share
    // second-level statistics, a row) and hold whole multiples of it except at the tensor's end.
    virtual std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const = 0;

    // When true, the scan first calls chunkStatistics on aligned chunks covering the tensor, merges
    // them with mergeStatistics, and passes the result in RoundTripContext::statistics.
    virtual bool needsTensorStatistics() const { return false; }
    // When true, roundTrip() needs RoundTripContext::calibration (GPTQ: the layer's Hessian) and
    // throws UsageError without it.
    virtual bool needsCalibration() const { return false; }
    // AWQ's schemes: what the search before quantization (core/eval's collectCalibration) runs with;
    // roundTrip() then needs RoundTripContext::awq. Null for every other scheme.
    virtual const AwqOptions* awqOptions() const { return nullptr; }
    virtual SchemeStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t> shape) const;
    virtual void mergeStatistics(SchemeStatistics& into, const SchemeStatistics& part) const;

    // Writes the dequantized Q(in) into out (same length). Thread-safe: the scan calls it on
    // several chunks at once. Throws UsageError when `in` is not aligned as promised.
    virtual void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const = 0;

    // Set for the bitsandbytes NF4/FP4 schemes; `statistics` is the merged chunkStatistics (null
    // when not needed).
    virtual std::optional<FourBitParameters> fourBitParameters(const SchemeStatistics*) const { return std::nullopt; }

    // The unit code levels (before scaling), ascending; empty when there are too many to draw.
    virtual std::vector<float> unitLevels() const { return {}; }
    // Elements the Lab shows as one block: the blocksize, a row, or (per-tensor schemes) 64.
    virtual std::uint64_t viewBlockSize(std::span<const std::uint64_t> shape) const;
    // The Lab's view of block `block` (of viewBlockSize() elements) of a whole tensor: the block is
    // round-tripped inside its aligned chunk, with the tensor's statistics when needed.
    BlockView viewBlock(std::span<const float> tensor, std::span<const std::uint64_t> shape, std::uint64_t block) const;

protected:
    // The scale the levels are drawn at for one block (default: its absmax).
    virtual float blockScale(std::span<const float> block, const SchemeStatistics& statistics) const;
    // The levels actually representable in a block of this scale (default: unitLevels() x scale).
    virtual std::vector<float> blockLevels(float scale) const;
    virtual std::string levelsNote() const { return "levels x block absmax"; }
};

// "nf4", "fp4", "nf4-dq", "fp4-dq", "dyn8", "llm-int8", "int8", "int4", "int8-zp", "int4-zp",
// "teach2".."teach8", "sym2".."sym8", "fp8-e4m3", "fp8-e5m2", "bf16", "fp16", and ggml's
// "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k". Throws UsageError naming the
// unknown id and listing the valid ones, or naming a bad option (blocksize out of range).
std::shared_ptr<const Scheme> makeScheme(const std::string& id, const SchemeOptions& options = {});
// A comma-separated list as the user types it: "nf4,fp4,int8,q4_0".
std::vector<std::shared_ptr<const Scheme>> parseSchemeList(const std::string& list, const SchemeOptions& options = {});

struct SchemeDescription {
    std::string id;
    std::string displayName;
    std::string summary; // one line: what it is and where it comes from
};
std::vector<SchemeDescription> listSchemes();

} // namespace quantlens::core
